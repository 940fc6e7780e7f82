"""AppTest of true status lines (issue #15, finding 9): no speed once paused or stopped, paused called paused, the
Runs page's live step, and Start not highlighted while a run trains."""

from __future__ import annotations

import json

import pytest
from conftest import open_page, tiny_data_config, wait_until

from gan_core.runs.folders import list_runs
from workbench.jobs import job_registry

pytestmark = pytest.mark.usefixtures("app_env")


def test_a_paused_run_is_called_paused_with_no_speed_and_runs_shows_its_live_step() -> None:
    at = open_page("pages/2_Train.py", "Train", tiny_data_config())
    assert at.button(key="train_start_btn").proto.type == "primary"
    at.selectbox(key="train_preset").set_value("triangles-mlp").run()
    at.text_input(key="train_steps").set_value("100000")
    at.text_input(key="train_batch_size").set_value("16")
    at.text_input(key="train_run_name").set_value("live")
    at.button(key="train_start_btn").click().run()
    job = job_registry().get("live")
    wait_until(lambda: job.snapshot().step >= 12, what="a dozen steps")
    at.run()
    assert at.button(key="train_start_btn").proto.type == "secondary"  # not highlighted while a run trains
    assert any("images/second" in m.value for m in at.markdown)
    at.button(key="train_pause_btn").click().run()
    assert job.snapshot().status == "paused"
    wait_until(lambda: job.parked, what="the thread parked")  # then the step it stopped at is final, and named
    at.run()
    assert any(m.value == f"**Run `live`: paused at step {job.snapshot().step:,}**" for m in at.markdown)
    assert not any("images/second" in m.value or "ETA" in m.value for m in at.markdown)  # no stale speed
    at.button(key="train_start_btn").click().run()
    assert any("Run 'live' is paused, not finished: stop it" in e.value for e in at.error)
    assert not any("still training" in e.value for e in at.error)

    step = job.snapshot().step
    meta = list_runs()[0].path / "meta.json"  # written at checkpoints, heartbeats and status changes: make it lag
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "step": 0}))
    runs = open_page("pages/4_Runs.py", "Runs")
    assert any(c.value.startswith(f"Status: paused · step {step}/100000") for c in runs.caption)
    assert any(c.value == "This run is paused: resume or stop it on the Train page." for c in runs.caption)

    at.button(key="train_stop_btn").click().run()
    wait_until(lambda: not job.alive, what="the run to stop")
    at.run()
    assert job.snapshot().status == "stopped"
    assert not any("images/second" in m.value or "ETA" in m.value for m in at.markdown)
    assert at.button(key="train_start_btn").proto.type == "primary"
