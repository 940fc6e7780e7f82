"""What callbacks may see of a training run: a small protocol the Trainer satisfies, so callbacks never import it."""

from __future__ import annotations

from typing import Protocol

import torch

from ..data import ImageData
from ..models import Discriminator, Generator
from .ema import EMA
from .playground import Frame


class RunState(Protocol):
    """The run as callbacks see it (Trainer implements it); the hooks in Callback take this, not the Trainer."""

    data: ImageData
    G: Generator
    D: Discriminator
    ema: EMA | None
    fixed_z: torch.Tensor  # num_fixed x latent_dim
    fixed_y: torch.Tensor | None  # num_fixed class labels, or None when unconditional
    step_count: int
    latest_grid: torch.Tensor | None  # uint8 num_fixed x C x H x W, set by callbacks.FixedNoiseGrid
    latest_frame: Frame | None  # 2-D point runs: the playground's picture, set by point_callbacks.PlaygroundFrame
    latest_copies: torch.Tensor | None  # uint8 2m x C x H x W likely copies beside their originals (QualityScore)

    @property
    def total_steps(self) -> int: ...

    @property
    def sampler(self) -> Generator: ...

    def report(self, entry: dict[str, float]) -> None: ...

    def add_alert(self, kind: str, step: int, message: str) -> None: ...
