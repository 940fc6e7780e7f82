"""The optimizers of a run: Adam for G and D, and the learning-rate schedule (a function of the step alone)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..config import TrainConfig


def adam(module: nn.Module, lr: float, t: TrainConfig, device: torch.device) -> torch.optim.Adam:
    """Adam as one fused kernel for all parameters where available (faster steps than foreach for the MLPs)."""
    fused = device.type in ("cuda", "cpu")
    return torch.optim.Adam(module.parameters(), lr, (t.beta1, t.beta2), foreach=not fused, fused=fused or None)


def lr_factor(schedule: str, progress: float) -> float:
    """The learning rate's share of its base at `progress` (0 to 1) of the run: linear or cosine decay to 0."""
    progress = min(max(progress, 0.0), 1.0)
    if schedule == "linear":
        return 1.0 - progress
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0


def schedule_lr(opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer, t: TrainConfig, progress: float) -> None:
    """Set both optimizers' learning rates for `progress` (step / total steps) of the run; a function of the step
    alone, so a resumed run follows the same rates."""
    if t.lr_schedule == "constant":
        return
    factor = lr_factor(t.lr_schedule, progress)
    for opt, lr in ((opt_g, t.lr_g), (opt_d, t.lr_d)):
        for group in opt.param_groups:
            group["lr"] = lr * factor
