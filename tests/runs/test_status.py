"""The status record: one RunStatus from a trainer, written into meta.json and read back the same, through the job's
snapshot and the folder watcher alike."""

from __future__ import annotations

import json
import os
import socket
import time

from conftest import tiny_config

from gan_core.job import TrainingJob
from gan_core.metric_names import IMAGES_PER_SECOND, STEP, TIME
from gan_core.runs.folders import RunWriter, run_path
from gan_core.runs.liveness import META_FILE, TIME_LIMIT, read_meta
from gan_core.runs.status import LOST_STATUS, RunStatus
from gan_core.runs.watch import RunWatcher
from gan_core.train.trainer import Trainer


def test_a_trainers_status_survives_meta_json_and_the_watcher_reads_the_same_record() -> None:
    trainer = Trainer(tiny_config(steps=10, conditional=True))
    writer = RunWriter(run_path("recorded"))
    writer.start(trainer)
    trainer.run(on_step=writer.on_step)
    writer.finish(trainer, TIME_LIMIT)
    mine = RunStatus.of_trainer("recorded", trainer, TIME_LIMIT)
    assert (mine.step, mine.total_steps, mine.batch_size, mine.dataset) == (10, 10, 16, "shapes")
    assert mine.class_names == ["triangle", "square", "circle"] and mine.images_per_second > 0
    assert mine.hardware == trainer.hardware and mine.epoch == trainer.epoch and mine.label == TIME_LIMIT
    read_back = RunStatus.of_meta("recorded", read_meta(writer.dir))
    # meta.json keeps what a reader needs; the speed and epoch come from the metrics log, not meta.json.
    assert read_back.meta_fields() == mine.meta_fields() and not read_back.elsewhere
    assert read_back.class_names == mine.class_names and read_back.hardware == mine.hardware  # written, not dropped
    watched = RunWatcher(writer.dir).poll()
    assert watched.meta_fields() == mine.meta_fields()
    assert watched.images_per_second == mine.images_per_second and watched.epoch == mine.epoch


def test_a_folder_read_back_takes_the_newer_of_meta_and_its_metrics_log_and_says_who_trains_it() -> None:
    meta = {"status": "running", "step": 40, "total_steps": 100, "train_seconds": 9.0, "batch_size": 8,
            "global_batch": 32, "updated": time.time(), "writer": {"host": socket.gethostname(), "pid": os.getppid()}}
    history = [{STEP: 50, TIME: 12.5, IMAGES_PER_SECOND: 64.0}, {STEP: 50, "quality": 3.0}]
    status = RunStatus.of_meta("theirs", meta, history)
    assert (status.step, status.train_seconds, status.images_per_second) == (50, 12.5, 64.0)
    assert status.batch_size == 32  # torchrun: a step is the global batch
    assert status.active and status.label == f"training elsewhere ({socket.gethostname()}, pid {os.getppid()})"
    lost = RunStatus.of_meta("theirs", {**meta, "updated": time.time() - 3600})
    assert lost.status == LOST_STATUS and lost.label.startswith("stopped or lost") and lost.step == 40
    ended = RunStatus.of_meta("theirs", {**meta, "status": "done"})
    assert ended.label == "done" and not ended.active and not ended.elsewhere
    assert RunStatus.of_meta("empty", {}).label == "unknown"


def test_the_jobs_snapshot_is_the_trainers_record_with_the_jobs_own_status() -> None:
    job = TrainingJob(tiny_config(steps=12, conditional=True), run_path("job")).start()
    assert job.join(60)
    snap = job.snapshot()
    meta = json.loads((run_path("job") / META_FILE).read_text())
    assert snap.status == meta["status"] == "done"
    assert snap.meta_fields() == RunStatus.of_meta("job", meta).meta_fields()
    assert snap.class_names == ["triangle", "square", "circle"] and snap.images_per_second > 0
