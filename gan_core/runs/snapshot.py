"""What a run looks like to a reader at one moment: the job's published state, or a watched folder's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..eta import eta_seconds
from ..train.playground import Frame
from .status import RunStatus


@dataclass
class JobSnapshot(RunStatus):
    """A copy of a job's public state (its RunStatus, and what the live panel draws); safe to read from any thread
    while training goes on."""

    history: list[dict[str, float]] = field(default_factory=list)
    grid: torch.Tensor | None = None  # uint8 N x C x H x W, the latest fixed-noise samples
    grid_step: int = 0
    grid_file: str | None = None  # a saved grid PNG to show when grid is None (a run watched through its folder)
    copies: torch.Tensor | None = None  # uint8 2m x C x H x W: the latest score's likely copies beside their originals
    alerts: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""  # loading progress or the last notice
    checkpoint: str | None = None  # the newest checkpoint written
    frame: Frame | None = None  # 2-D point runs: the playground's latest picture (numpy arrays, drawn off the page)
    step_delay: float = 0.0  # slow motion: seconds the thread waits after each step
    parked: bool = False  # paused and the thread waits: no step in flight, so `step` is where the run stopped

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the smoothed recent speed (eta.eta_seconds, as the CLI shows it); None while unknown or
        not running."""
        return eta_seconds(self.history, self.step, self.total_steps) if self.status == "running" else None
