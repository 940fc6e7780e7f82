"""AppTest: a run trained by a separate command-line process shows live in the Train and Runs pages."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import APP, REPO, make_run, open_page, wait_until
from streamlit.testing.v1 import AppTest

from gan_core.runs.folders import checkpoint_root
from gan_core.runs.liveness import META_FILE
from gan_core.runs.metrics_log import METRICS_FILE

pytestmark = pytest.mark.usefixtures("app_env")
RUN = "cli-run"


def logged_step(run_dir: Path) -> int:
    """The newest step metrics.jsonl holds (whole lines only), 0 before the first."""
    try:
        lines = (run_dir / METRICS_FILE).read_bytes().split(b"\n")[:-1]
    except OSError:
        return 0
    return max((json.loads(line).get("step", 0) for line in lines), default=0)


@pytest.fixture
def cli_run() -> Iterator[subprocess.Popen]:
    """`python -m gan_core train` in its own process, writing into the test's checkpoints folder for at most two
    minutes (tiny MLP, a log every 10 steps); interrupted (Ctrl-C: it saves and exits) at the end of the test."""
    args = [sys.executable, "-m", "gan_core", "train", "--dataset", "shapes", "--arch", "mlp", "--image-size", "16",
            "--batch-size", "16", "--latent-dim", "16", "--steps", "10000000", "--max-seconds", "120",
            "--sample-every", "500", "--checkpoint-every", "10000000", "--quality-every", "0", "--device", "cpu",
            "--no-amp", "--out", str(checkpoint_root() / RUN)]
    # The environment carries the test's GAN_WORKBENCH_CHECKPOINTS and GAN_WORKBENCH_DATA (conftest).
    proc = subprocess.Popen(args, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stderr.close()


def step_on(at: AppTest) -> int:
    """The step the Train page's progress bar says."""
    return int(re.match(r"Step ([\d,]+) /", at.progress[0].text).group(1).replace(",", ""))


def test_a_run_trained_by_a_cli_process_shows_live_in_train_and_runs(cli_run: subprocess.Popen) -> None:
    run_dir = checkpoint_root() / RUN
    wait_until(lambda: logged_step(run_dir) >= 20 or cli_run.poll() is not None, timeout=120, what="the CLI's logs")
    assert cli_run.poll() is None, cli_run.stderr.read().decode()
    writer = f"training elsewhere ({socket.gethostname()}, pid {cli_run.pid})"

    home = AppTest.from_file(APP, default_timeout=30).run()  # the shared sidebar, on the first page shown
    sidebar = [c.value for c in home.sidebar.caption]  # issue #20, item 5: not "No training running"
    assert f"Training elsewhere: **{RUN}** ({socket.gethostname()}, pid {cli_run.pid})" in sidebar, sidebar
    assert "No training running." not in sidebar
    train = open_page("pages/2_Train.py", "Train")
    assert train.selectbox(key="train_watch_run").value == RUN  # nothing trains here: the run elsewhere is shown
    assert any(m.value == f"**Run `{RUN}`: running · {writer}**" for m in train.markdown)
    first = step_on(train)
    assert first >= 20 and train.get("plotly_chart") and train.image  # curves and the saved grid
    assert all(train.button(key=k).disabled for k in ("train_pause_btn", "train_stop_btn"))  # not this app's run
    wait_until(lambda: logged_step(run_dir) > first, timeout=60, what="the file to grow")
    train.run()
    assert step_on(train) > first

    runs = open_page("pages/4_Runs.py", "Runs")
    row = runs.dataframe[0].value.set_index("run").loc[RUN]
    assert row["status"] == writer and row["step"] >= first
    listed = row["step"]
    wait_until(lambda: logged_step(run_dir) > listed, timeout=60, what="the file to grow")
    runs.run()
    assert runs.dataframe[0].value.set_index("run").loc[RUN, "step"] > listed
    runs.selectbox(key="runs_selected").set_value(RUN).run()
    assert any(c.value.startswith(f"Status: {writer}") for c in runs.caption)
    assert any("training elsewhere" in c.value for c in runs.caption if "control it there" in c.value)  # no resume
    # The Delete tab greys out its box and button while the run trains elsewhere (a caption says why).
    assert runs.checkbox(key="runs_delete_confirm").disabled and runs.button(key="runs_delete_btn").disabled
    assert run_dir.is_dir()

    cli_run.send_signal(signal.SIGINT)  # the CLI saves and marks the run stopped
    assert cli_run.wait(timeout=60) == 0
    train.run()
    assert any(m.value == f"**Run `{RUN}`: stopped**" for m in train.markdown)
    runs.run()
    assert runs.dataframe[0].value.set_index("run").loc[RUN, "status"] == "stopped"


def test_a_run_whose_writer_went_silent_is_shown_stopped_or_lost_and_can_be_resumed() -> None:
    folder = make_run("silent", steps=10)
    meta = json.loads((folder / META_FILE).read_text())
    meta.update(status="running", updated=time.time() - 600, writer={"host": "gpu-server", "pid": 4242})
    (folder / META_FILE).write_text(json.dumps(meta))
    runs = open_page("pages/4_Runs.py", "Runs")
    lost = "stopped or lost (no update for 10 min)"
    assert runs.dataframe[0].value.set_index("run").loc["silent", "status"] == lost
    assert any(c.value.startswith(f"Status: {lost}") for c in runs.caption)
    assert runs.button(key="runs_resume_btn")  # its writer is taken as gone: the run can be continued here
    train = open_page("pages/2_Train.py", "Train")
    assert "train_watch_run" not in {s.key for s in train.selectbox}  # nothing training elsewhere to show
