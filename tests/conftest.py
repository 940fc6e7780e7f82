"""Shared fixtures: a temporary checkpoints folder and tiny, fast run configurations (CPU, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig

# Small models run faster on one thread, and tests must not fight each other for the 2 cores.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
MNIST_DIR = REPO.parent / "shared" / "data" / "mnist"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs and downloaded data go to temporary folders, never the repo's."""
    monkeypatch.setenv("GAN_WORKBENCH_CHECKPOINTS", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("GAN_WORKBENCH_DATA", str(tmp_path / "data"))


def tiny_config(arch: str = "mlp", loss: str = "bce", steps: int = 20, size: int = 16, **train: object) -> RunConfig:
    """A seconds-long run on 128 synthetic shapes."""
    t = TrainConfig(loss=loss, steps=steps, batch_size=16, log_every=5, sample_every=10, checkpoint_every=10,
                    quality_every=0, num_fixed=16, device="cpu")
    for k, v in train.items():
        setattr(t, k, v)
    return RunConfig(DataConfig(name="shapes", num_samples=128, image_size=size),
                     ModelConfig(arch=arch, latent_dim=16, width=8), t).validate()


@pytest.fixture
def tiny() -> RunConfig:
    return tiny_config()
