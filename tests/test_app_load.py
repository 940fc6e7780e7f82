"""Ten sessions polling the Train page while one run trains: no errors, one trainer thread, any session stops it.

Each AppTest session reruns the page back to back, a harder load than ten browser tabs polling once a second
(tests/e2e/test_load.py polls a real server from ten protocol clients; bench/ui_load.py measures the slowdown);
this test checks correctness under that load in-process, where it can see the threads.
"""

from __future__ import annotations

import threading
import time

import pytest
from conftest import APP, tiny_config, wait_until
from streamlit.testing.v1 import AppTest

from gan_core.runs.folders import run_path
from workbench.jobs import job_registry

pytestmark = pytest.mark.usefixtures("app_env")
SESSIONS = 10


def status_line(at: AppTest) -> str:
    return next((m.value for m in at.markdown if m.value.startswith("**Run ")), "")


def test_ten_polling_sessions_share_one_run(tmp_path) -> None:
    job = job_registry().start(tiny_config("dcgan", steps=10**6, log_every=5, sample_every=5),
                                         run_path("loaded"))
    wait_until(lambda: job.snapshot().step >= 5, what="the run to start")
    sessions = []
    for _ in range(SESSIONS):
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        at.switch_page("pages/2_Train.py").run()
        sessions.append(at)
    start = job.snapshot().step
    for _ in range(2):  # two polling rounds over every session
        for at in sessions:
            at.run()
            assert not at.exception, at.exception
            assert status_line(at) == "**Run `loaded`: running**"
            assert len(at.get("plotly_chart")) >= 2
            assert any(c.startswith("Fixed-noise samples") for i in at.image for c in i.captions)
    assert job.snapshot().step > start, "training must go on while ten sessions poll"
    trainers = [t for t in threading.enumerate() if t.name.startswith("train-") and t.is_alive()]
    assert [t.name for t in trainers] == ["train-loaded"]

    sessions[-1].button(key="train_stop_btn").click().run()  # the last session stops the run
    assert job.join(60)
    time.sleep(0.1)
    sessions[0].run()
    assert status_line(sessions[0]) == "**Run `loaded`: stopped**"
