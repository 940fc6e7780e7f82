"""What a run looks like to a reader at one moment: the job's published state, or a watched folder's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..metric_names import IMAGES_PER_SECOND
from ..train.playground import Frame
from .liveness import ACTIVE

ETA_SETTLE_SECONDS = 10.0  # training seconds before an ETA is shown
ETA_WINDOW = 20  # history entries whose images/second give the ETA


@dataclass
class JobSnapshot:
    """A copy of a job's public state; safe to read from any thread while training goes on."""

    run_name: str
    status: str  # loading | running | paused | stopping | done | stopped | failed (| watch.LOST_STATUS, watched)
    step: int = 0
    total_steps: int = 0
    epoch: float = 0.0
    train_seconds: float = 0.0
    images_per_second: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
    grid: torch.Tensor | None = None  # uint8 N x C x H x W, the latest fixed-noise samples
    grid_step: int = 0
    grid_file: str | None = None  # a saved grid PNG to show when grid is None (a run watched through its folder)
    copies: torch.Tensor | None = None  # uint8 2m x C x H x W: the latest score's likely copies beside their originals
    alerts: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    message: str = ""  # loading progress or the last notice
    checkpoint: str | None = None  # the newest checkpoint written
    class_names: list[str] = field(default_factory=list)
    hardware: str = ""  # Trainer.hardware: device, threads, precision
    batch_size: int = 0  # the batch training runs with now (halved after running out of memory)
    dataset: str = ""  # the data set's name (DataConfig.name)
    elsewhere: str = ""  # a run trained by another process: liveness.describe's words, e.g. "training elsewhere (...)"
    frame: Frame | None = None  # 2-D point runs: the playground's latest picture (numpy arrays, drawn off the page)
    step_delay: float = 0.0  # slow motion: seconds the thread waits after each step

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the recent speed; None while unknown: not running, or the speed not settled yet (the
        first steps include warm-up and ran with a 1:35:57 ETA once)."""
        if self.status != "running" or self.total_steps <= self.step or self.train_seconds < ETA_SETTLE_SECONDS:
            return None
        rates = [h[IMAGES_PER_SECOND] for h in self.history[-ETA_WINDOW:] if IMAGES_PER_SECOND in h]
        if len(rates) < 3 or not self.batch_size:
            return None
        steps_per_second = sorted(rates)[len(rates) // 2] / self.batch_size  # the median: one slow log is no trend
        return (self.total_steps - self.step) / max(steps_per_second, 1e-9)
