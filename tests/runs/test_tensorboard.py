"""TensorBoard event files of a run, read back with TensorBoard's own reader: curves, grids, config, hparams, resume."""

from __future__ import annotations

import io
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_config
from PIL import Image

from gan_core.job import JobRegistry
from gan_core.metric_names import D_FAKE, D_REAL, GRAD_D, GRAD_G, IMAGES_PER_SECOND, LOSS_D, LOSS_G, QUALITY
from gan_core.runs import tensorboard as tb
from gan_core.runs.checkpoints import find_checkpoints, load_checkpoint
from gan_core.runs.folders import RunWriter, grid_path
from gan_core.train.trainer import Trainer

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402

EVERYTHING = {"scalars": 0, "images": 0, "tensors": 0}  # 0: keep every event (the default samples some away)


def read(run_dir: Path, purge: bool = True) -> EventAccumulator:
    """All event files of run_dir as TensorBoard shows them (purge=False: raw, stale events kept)."""
    acc = EventAccumulator(str(run_dir), size_guidance=EVERYTHING, purge_orphaned_data=purge)
    return acc.Reload()


def train(run_dir: Path, trainer: Trainer) -> Trainer:
    writer = RunWriter(run_dir)
    writer.start(trainer)
    trainer.run(on_step=writer.on_step)
    writer.finish(trainer, "done")
    return trainer


def steps(acc: EventAccumulator, tag: str) -> list[int]:
    return [e.step for e in acc.Scalars(tag)]


def test_curves_grids_config_and_hparams_read_back(tmp_path: Path) -> None:
    run = tmp_path / "run"
    tr = train(run, Trainer(tiny_config(steps=20, log_every=5, sample_every=10, quality_every=10)))
    acc = read(run)
    losses = [h for h in tr.history if LOSS_D in h]
    for tag in (LOSS_D, LOSS_G, D_REAL, D_FAKE, GRAD_D, GRAD_G, IMAGES_PER_SECOND):
        assert steps(acc, tag) == [5, 10, 15, 20], tag
        assert [e.value for e in acc.Scalars(tag)] == pytest.approx([h[tag] for h in losses], rel=1e-6), tag
    scored = [h for h in tr.history if QUALITY in h]
    assert steps(acc, QUALITY) == [10, 20]
    assert [e.value for e in acc.Scalars(QUALITY)] == pytest.approx([h[QUALITY] for h in scored], rel=1e-6)
    assert steps(acc, "coverage/classes") == [10, 20]  # shapes are labeled: the coverage classifier scores them

    images = acc.Images(tb.GRID_TAG)
    assert [i.step for i in images] == [1, 10, 20]
    logged = np.asarray(Image.open(io.BytesIO(images[-1].encoded_image_string)))
    assert np.array_equal(logged, np.asarray(Image.open(grid_path(run, 20))))  # the same grid as grids/

    text = acc.Tensors(f"{tb.CONFIG_TAG}/text_summary")[0].tensor_proto.string_val[0].decode()
    assert '"latent_dim": 16' in text and '"steps": 20' in text

    content = acc.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    assert start.session_start_info.hparams["train.steps"].number_value == 20
    assert start.session_start_info.hparams["data.name"].string_value == "shapes"
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert [m.name.tag for m in experiment.metric_infos] == [QUALITY]


def test_resume_continues_the_curves_without_duplicate_steps(tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = train(run, Trainer(tiny_config(steps=10, log_every=5, checkpoint_every=10)))
    resumed = Trainer(tiny_config(steps=25, log_every=5, checkpoint_every=10))
    resumed.load_state_dict(load_checkpoint(find_checkpoints(run)[0]))
    assert resumed.step_count == 10 and len(resumed.history) == len(first.history)
    train(run, resumed)
    assert len(list(run.glob("events.out.tfevents.*"))) == 2  # one file per process, one run in TensorBoard
    raw = read(run, purge=False)  # every event as written, nothing hidden by TensorBoard's purging
    assert steps(raw, LOSS_D) == [5, 10, 15, 20, 25]
    assert [i.step for i in raw.Images(tb.GRID_TAG)] == [1, 10, 11, 20, 25]  # a resumed trainer draws at once


def test_resume_from_an_older_checkpoint_replaces_the_later_events(tmp_path: Path) -> None:
    run = tmp_path / "run"
    train(run, Trainer(tiny_config(steps=20, log_every=5, checkpoint_every=10)))
    assert steps(read(run), LOSS_D) == [5, 10, 15, 20]
    newest, older = find_checkpoints(run)[:2]
    newest.unlink()  # as after a crash right after step 20's events were written, before its checkpoint
    resumed = Trainer(tiny_config(steps=20, log_every=5, checkpoint_every=10))
    resumed.load_state_dict(load_checkpoint(older))
    time.sleep(0.01)
    resumed_at = time.time()
    train(run, resumed)
    assert steps(read(run, purge=False), LOSS_D) == [5, 10, 15, 20, 15, 20]  # the stale 15 and 20 are on disk...
    shown = read(run).Scalars(LOSS_D)
    assert [e.step for e in shown] == [5, 10, 15, 20]  # ...and TensorBoard shows each step once: the new ones
    assert all(e.wall_time >= resumed_at for e in shown[2:]) and all(e.wall_time < resumed_at for e in shown[:2])


def test_app_jobs_write_events_too(tmp_path: Path) -> None:
    job = JobRegistry().start(tiny_config(steps=10, log_every=5), tmp_path / "job-run")
    assert job.join(60) and job.snapshot().status == "done", job.snapshot().error
    assert steps(read(tmp_path / "job-run"), LOSS_G) == [5, 10]


def test_without_tensorboard_training_goes_on_and_says_so_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import now raises ImportError
    monkeypatch.setattr(tb, "_warned", False)
    with caplog.at_level(logging.WARNING, logger=tb.__name__):
        for name in ("a", "b"):
            train(tmp_path / name, Trainer(tiny_config(steps=5)))
    assert [r.getMessage() for r in caplog.records].count(
        "TensorBoard logs are off: the tensorboard package is not installed (pip install tensorboard).") == 1
    assert find_checkpoints(tmp_path / "b") and not list(tmp_path.rglob("events.out.tfevents.*"))


def test_flat_hparams_keeps_the_types_the_plugin_takes() -> None:
    flat = tb.flat_hparams({"train": {"lr_g": 4e-4, "epochs": None, "amp": True}, "preset": "p", "x": [1, 2]})
    assert flat == {"train.lr_g": 4e-4, "train.amp": True, "preset": "p", "x": "[1, 2]"}  # unset values left out
