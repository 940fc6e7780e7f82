"""Watching a run folder another process writes: growth, partial lines, grids, and live / lost / finished runs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from conftest import make_run, tiny_config
from PIL import Image

from gan_core.runs.folders import RunWriter, grid_path, list_runs, run_path
from gan_core.runs.liveness import LOST_AFTER_SECONDS, META_FILE
from gan_core.runs.metrics_log import METRICS_FILE, record_lines
from gan_core.runs.preview import PREVIEW_FILE
from gan_core.runs.watch import LOST_STATUS, RunWatcher, runs_elsewhere
from gan_core.train.callbacks import PREVIEW
from gan_core.train.trainer import Trainer

HOST = socket.gethostname()


def folder(root: Path, name: str = "theirs", status: str = "running", pid: int | None = None, age: float = 0.0,
           host: str = HOST) -> Path:
    """A run folder as another process (by default the test's parent, alive) leaves it while training."""
    run = root / name
    (run / "grids").mkdir(parents=True)
    writer = {"host": host, "pid": os.getppid() if pid is None else pid}
    (run / META_FILE).write_text(json.dumps({"status": status, "updated": time.time() - age, "writer": writer,
                                             "step": 0, "total_steps": 1000}))
    (run / METRICS_FILE).write_bytes(b"")
    return run


def append(run: Path, data: bytes) -> None:
    with (run / METRICS_FILE).open("ab") as f:
        f.write(data)


def test_a_finished_run_reads_back_as_its_writer_left_it(tmp_path: Path) -> None:
    run = make_run("mine", steps=20, sample_every=10)
    snap = RunWatcher(run).poll()
    meta = json.loads((run / META_FILE).read_text())
    assert (snap.run_name, snap.status, snap.step, snap.total_steps) == ("mine", "done", 20, 20)
    assert [h["step"] for h in snap.history if "loss/D" in h] == [5, 10, 15, 20]
    assert snap.grid_step == 20 and snap.grid_file == str(grid_path(run, 20)) and snap.grid is None
    assert snap.checkpoint.endswith("ckpt-0000020.pt") and snap.elsewhere == "" and snap.batch_size == 16
    assert snap.hardware == meta["hardware"] and snap.dataset == "shapes" and snap.class_names == meta["class_names"]


def test_a_growing_run_is_read_as_it_grows_and_half_lines_wait(tmp_path: Path) -> None:
    run = folder(tmp_path)
    watcher = RunWatcher(run)
    snap = watcher.poll()
    assert snap.status == "running" and snap.step == 0 and snap.history == [] and snap.grid_file is None
    assert snap.elsewhere == f"training elsewhere ({HOST}, pid {os.getppid()})"
    append(run, record_lines([{"step": 10, "time": 1.5, "img/s": 320.0, "loss/D": 1.0}], []) + b'{"step": 20,')
    grid_path(run, 10).write_bytes(b"png")
    snap = watcher.poll()
    assert snap.step == 10 and len(snap.history) == 1 and snap.train_seconds == 1.5 and snap.images_per_second == 320
    assert snap.grid_step == 10 and snap.grid_file == str(grid_path(run, 10))
    append(run, b' "loss/D": 0.5}\n' + record_lines([], [{"kind": "collapse", "step": 20, "message": "m"}]))
    snap = watcher.poll()
    assert snap.step == 20 and [h["step"] for h in snap.history] == [10, 20]
    assert snap.alerts == [{"kind": "collapse", "step": 20, "message": "m"}]


def test_a_watched_run_shows_the_writers_live_preview_between_saved_grids(tmp_path: Path) -> None:
    """Issue #20, item 5: a CLI run's previews reach the app watching it (its grid stayed grey ~100 s)."""
    trainer = Trainer(tiny_config(steps=20, sample_every=10))
    writer = RunWriter(run_path("previewed"))
    writer.start(trainer)
    watcher, seen = RunWatcher(writer.dir), {}

    def on_step(t: Trainer, events: set[str]) -> None:
        if t.step_count == 13:  # the trainer's time-based preview (every 2 s, then 10 s), between saved grids
            events.add(PREVIEW)
        writer.on_step(t, events)
        snap = watcher.poll()
        seen[t.step_count] = snap.grid_step, snap.grid_file

    trainer.run(lambda: False, on_step)
    preview = str(writer.dir / PREVIEW_FILE)
    assert seen[12] == (10, str(grid_path(writer.dir, 10)))
    assert seen[13] == seen[19] == (13, preview)  # newer than the saved grid of step 10
    assert seen[20] == (20, str(grid_path(writer.dir, 20)))  # the next saved grid is newer again
    with Image.open(preview) as im, Image.open(grid_path(writer.dir, 10)) as saved:
        assert im.size == saved.size


def test_a_silent_writer_is_stopped_or_lost(tmp_path: Path) -> None:
    run = folder(tmp_path, host="elsewhere", age=LOST_AFTER_SECONDS + 60)
    snap = RunWatcher(run).poll()
    assert snap.status == LOST_STATUS and snap.elsewhere == "stopped or lost (no update for 4 min)"
    assert not snap.active  # nothing to poll for


def test_a_writer_gone_from_this_host_is_lost_at_once(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    run = folder(tmp_path, pid=proc.pid)
    assert RunWatcher(run).poll().status == LOST_STATUS


def test_only_runs_another_process_trains_now_are_listed_as_elsewhere(tmp_path: Path) -> None:
    folder(tmp_path, "live-one")
    folder(tmp_path, "lost-one", age=LOST_AFTER_SECONDS + 1)
    folder(tmp_path, "done-one", status="done")
    folder(tmp_path, "mine", pid=os.getpid())
    assert [r.name for r in runs_elsewhere(tmp_path)] == ["live-one"]
    assert len(list_runs(tmp_path)) == 4
