"""TrainingJob: background training publishes snapshots, pauses, serves generator copies, stops with a checkpoint."""

from __future__ import annotations

import time

import torch
from conftest import tiny_config

from gan_core.job import JobRegistry
from gan_core.models import Generator
from gan_core.runs.checkpoints import load_checkpoint


def _wait(pred, timeout: float = 30.0) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_job_publishes_progress_pauses_and_stops(tmp_path) -> None:
    job = JobRegistry().start(tiny_config(steps=10**5, sample_every=5), tmp_path / "r")
    try:
        assert _wait(lambda: len(job.snapshot().history) >= 3 and job.snapshot().grid_step >= 5)
        snap = job.snapshot()
        assert snap.status == "running" and snap.grid.dtype == torch.uint8
        assert snap.eta_seconds is None  # a few steps in: the speed has not settled (workbench tests the ETA)
        assert job.alive

        job.pause()
        assert job.snapshot().status == "paused"  # said from the command on
        assert _wait(lambda: job.parked)  # then the thread parks after the step in flight: the step is final
        frozen = job.snapshot().step
        time.sleep(0.3)
        assert job.snapshot().step == frozen

        g = job.generator()  # served by the training thread while paused
        assert isinstance(g, Generator) and not g.training
        job.resume()
        assert _wait(lambda: job.snapshot().step > frozen + 3)
        assert not job.parked  # else the next pause would name a step before its thread has parked
        before = [p.clone() for p in g.parameters()]
        time.sleep(0.2)
        assert all(torch.equal(a, b) for a, b in zip(before, g.parameters())), "the copy must not train"
    finally:
        job.stop()
        assert job.join(30)
    snap = job.snapshot()
    assert snap.status == "stopped"
    assert load_checkpoint(snap.checkpoint)["step"] == snap.step


def test_finished_job_reports_done_and_keeps_its_generator(tmp_path) -> None:
    job = JobRegistry().start(tiny_config(steps=12), tmp_path / "r")
    assert job.join(30)
    snap = job.snapshot()
    assert snap.status == "done" and snap.step == 12 and not snap.active
    assert isinstance(job.generator(), Generator)


def test_a_failed_download_leaves_its_sentence_not_the_downloading_line(tmp_path, monkeypatch) -> None:
    from urllib.error import URLError

    import torchvision.datasets

    from gan_core.config import DataConfig

    def offline(root: str, train: bool, download: bool) -> None:
        raise URLError("no network")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    cfg = tiny_config()
    cfg.data = DataConfig(name="mnist", image_size=16)
    job = JobRegistry().start(cfg, tmp_path / "r")
    assert _wait(lambda: not job.alive)
    snap = job.snapshot()
    assert snap.status == "failed" and snap.error.startswith("MNIST could not be downloaded")
    assert snap.message == ""  # was "Downloading MNIST into ... (about 12 MB)"
