"""Sets too large for the device: batches stream from host memory through DataLoader workers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from conftest import tiny_config
from PIL import Image

from gan_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from gan_core.data import load_dataset, to_float
from gan_core.errors import ConfigError
from gan_core.metric_names import LOSS_D, LOSS_G
from gan_core.train.streaming import LIMIT_ENV, WORKERS, device_limit
from gan_core.train.trainer import Trainer


def _folder(tmp_path: Path, n: int = 40) -> Path:
    """n distinct 16x16 RGB pictures (random pixels) as PNG files."""
    folder = tmp_path / "photos"
    folder.mkdir()
    g = torch.Generator().manual_seed(0)
    for i in range(n):
        pixels = torch.randint(256, (16, 16, 3), generator=g, dtype=torch.uint8).numpy()
        Image.fromarray(pixels).save(folder / f"{i:03d}.png")
    return folder


def _folder_config(folder: Path) -> RunConfig:
    return RunConfig(DataConfig(name="folder", data_dir=str(folder), image_size=16),
                     ModelConfig(arch="dcgan", latent_dim=16, width=8),
                     TrainConfig(batch_size=8, steps=6, log_every=3, quality_every=0, device="cpu")).validate()


def test_small_sets_stay_on_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LIMIT_ENV, raising=False)
    assert device_limit(torch.device("cpu")) is None  # the CPU trains from host memory anyway
    assert Trainer(tiny_config(steps=2)).batches.stream is None
    monkeypatch.setenv(LIMIT_ENV, "1")  # 1 MiB; the tiny set is 128 x 3 x 16 x 16 bytes = 96 KiB
    trainer = Trainer(tiny_config(steps=2))
    assert trainer.batches.stream is None and trainer.batches.notice is None


def test_a_set_over_the_limit_streams_from_host_memory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(LIMIT_ENV, "0.01")  # 10 KiB: the 40 pictures take 30 KiB
    cfg = _folder_config(_folder(tmp_path))
    trainer = Trainer(cfg, callbacks=[])
    assert trainer.batches.stream is not None and "stream from host memory" in trainer.batches.notice
    real, labels = trainer.batches.real(8)
    assert real.shape == (8, 3, 16, 16) and real.dtype == torch.float32 and labels is None
    known = to_float(load_dataset(cfg.data).images).flatten(1)  # 40 x 768
    assert all(bool((known == row).all(1).any()) for row in real.flatten(1))  # each one of the set's pictures
    loader = trainer.batches.stream._it
    assert loader is not None and loader._num_workers == WORKERS  # gathered by worker processes
    trainer.run()
    assert trainer.step_count == 6
    assert all(math.isfinite(e[k]) for e in trainer.history if LOSS_D in e for k in (LOSS_D, LOSS_G))


def test_a_bad_limit_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LIMIT_ENV, "a lot")
    with pytest.raises(ConfigError, match=LIMIT_ENV):
        device_limit(torch.device("cpu"))
