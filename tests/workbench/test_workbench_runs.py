"""The Runs page's data: table rows (live status while training), the sample timeline, histories, deletion."""

from __future__ import annotations

import json
import math
import os
import re
import socket
import subprocess
import sys
import time

import pytest
from conftest import make_run, tiny_config, wait_until

from gan_core.errors import UserError
from gan_core.metric_names import LOSS_D, LOSS_G, STEP
from gan_core.runs.checkpoints import find_checkpoints, load_checkpoint
from gan_core.runs.folders import GRID_DIR, list_runs, run_path
from gan_core.runs.liveness import META_FILE
from gan_core.runs.metrics_log import METRICS_FILE, record_lines
from workbench.jobs import job_registry
from workbench.runs import (
    QUALITY_COLUMN,
    TABLE_FORMATS,
    any_training,
    busy_note,
    remove_run,
    run_history,
    run_status,
    runs_table,
    timeline_image,
    timeline_steps,
)

pytestmark = pytest.mark.usefixtures("app_env")


def run(name: str):
    return next(r for r in list_runs() if r.name == name)


def test_one_row_per_run_with_its_settings_and_results() -> None:
    make_run("done-run", steps=20)
    make_run("stopped-run", steps=20, stop_at=4, loss="hinge")
    rows = {r["run"]: r for r in runs_table(list_runs())}
    done, stopped = rows["done-run"], rows["stopped-run"]
    assert (done["status"], done["step"], done["of"], done["checkpoints"]) == ("done", 20, 20, 2)
    assert (stopped["status"], stopped["step"], stopped["loss"]) == ("stopped", 4, "hinge")
    assert re.fullmatch(r"\d+:\d\d:\d\d", done["time"]) and math.isfinite(done[LOSS_D]) and math.isfinite(done[LOSS_G])
    assert done[QUALITY_COLUMN] is None  # tiny runs are never scored
    assert QUALITY_COLUMN == "quality (FD), lower is better"  # which way is better (issue #20, item 11)
    assert set(TABLE_FORMATS) == {LOSS_D, LOSS_G, QUALITY_COLUMN} and set(TABLE_FORMATS) <= set(done)


def test_a_run_training_now_shows_its_live_status_and_history() -> None:
    job = job_registry().start(tiny_config(steps=100_000, log_every=2, checkpoint_every=10**6), run_path("live"))
    try:
        wait_until(lambda: job.snapshot().step >= 4 and job.snapshot().history, what="a few logged steps")
        row = runs_table([run("live")])[0]
        assert row["status"] == "running" and row["of"] == 100_000 and row["step"] >= 4
        assert run_status(run("live")) == "running" and "control it on the Train page" in busy_note(run("live"))
        assert run_history(run("live"))  # from the job: no checkpoint is written yet
        assert not find_checkpoints(run_path("live"))
        with pytest.raises(UserError, match="is training"):
            remove_run("live")
    finally:
        job.stop()
        assert job.join(60)
    assert run_status(run("live")) == "stopped" and busy_note(run("live")) is None
    remove_run("live")
    assert not run_path("live").exists()


@pytest.mark.parametrize("status,elsewhere", [("running", True), ("paused", True), ("done", False),
                                              ("stopped", False), ("failed", False)])
def test_a_run_another_live_process_trains_is_busy_and_cannot_be_deleted(status: str, elsewhere: bool) -> None:
    folder = make_run("theirs", steps=5)
    meta = json.loads((folder / META_FILE).read_text())
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        meta.update(status=status, updated=time.time(), writer={"host": socket.gethostname(), "pid": other.pid})
        (folder / META_FILE).write_text(json.dumps(meta))
        assert (busy_note(run("theirs")) is not None) is elsewhere
        assert run_status(run("theirs")).startswith("training elsewhere") is elsewhere
        if elsewhere:
            assert f"pid {other.pid}" in busy_note(run("theirs"))
            with pytest.raises(UserError, match="is training elsewhere"):
                remove_run("theirs")
            assert folder.is_dir()
    finally:
        other.kill()
        other.wait()
    assert busy_note(run("theirs")) is None  # its process is gone: stopped or lost, free to resume or delete
    remove_run("theirs")
    assert not folder.exists()


def test_the_timeline_lists_grid_steps_and_shows_each_grid_enlarged() -> None:
    folder = make_run("timeline", steps=20, sample_every=10)
    (folder / GRID_DIR / "notes.png").write_bytes(b"not a grid")  # a stray file is no step of the timeline
    r = run("timeline")
    assert timeline_steps(r) == [1, 10, 20]
    image = timeline_image(r, 10, min_side=200)
    assert image.mode == "RGB" and min(image.size) >= 100  # 16 px samples in a 4 x 4 grid, enlarged


def test_history_comes_from_the_newest_checkpoint_that_loads() -> None:
    folder = make_run("history", steps=8, checkpoint_every=4)
    newest, older = find_checkpoints(folder)[:2]
    assert run_history(run("history")) == load_checkpoint(newest)["history"]
    newest.write_bytes(b"corrupt")
    assert run_history(run("history")) == load_checkpoint(older)["history"]


def test_a_run_another_process_trains_is_read_live_from_its_folder() -> None:
    folder = make_run("theirs", steps=10)  # meta says step 10; their metrics.jsonl has gone further since
    meta = json.loads((folder / META_FILE).read_text())
    meta.update(status="running", updated=time.time(), writer={"host": socket.gethostname(), "pid": os.getppid()})
    (folder / META_FILE).write_text(json.dumps(meta))
    with (folder / METRICS_FILE).open("ab") as f:
        f.write(record_lines([{"step": 15, LOSS_D: 0.25, LOSS_G: 3.0, "img/s": 100.0}], []))
    row = runs_table(list_runs())[0]
    assert (row["status"], row["step"], row[LOSS_D], row[LOSS_G]) == (
        f"training elsewhere ({socket.gethostname()}, pid {os.getppid()})", 15, 0.25, 3.0)
    assert [h[STEP] for h in run_history(run("theirs")) if LOSS_D in h] == [5, 10, 15]
    assert any_training(list_runs())
    meta["status"] = "stopped"
    (folder / META_FILE).write_text(json.dumps(meta))
    assert not any_training(list_runs()) and runs_table(list_runs())[0]["step"] == 10  # meta.json says all
