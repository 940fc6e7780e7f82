"""Exponential moving average of the generator: weights averaged and buffers copied together, after every G step."""

from __future__ import annotations

import copy
from typing import Any

import torch

from ..models import Generator


class EMA:
    """A frozen copy of G whose weights trail G's (ema = decay * ema + (1 - decay) * G) and whose buffers (BatchNorm
    running statistics) equal G's after every update, so sampling from it never needs a sync of its own."""

    def __init__(self, source: Generator, decay: float) -> None:
        assert 0.0 < decay < 1.0, decay
        self.decay = decay
        self.module: Generator = copy.deepcopy(source).eval().requires_grad_(False)
        # The same tensors for the whole run: load_state_dict and optimizers update them in place.
        self._params = list(self.module.parameters())
        self._source_params = list(source.parameters())
        self._buffers = list(self.module.buffers())
        self._source_buffers = list(source.buffers())

    def decay_at(self, step: int) -> float:
        """The decay used after G's step `step` (0-based): (1 + step) / (10 + step) until that reaches `decay`.

        A fixed 0.995 averages over the last ~200 steps, so for the first minutes the samples showed an old, grey G;
        the ramp lets the copy follow G closely while G changes fast (as the mean-teacher and timm EMAs do)."""
        return min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Move the weights towards G's and copy G's buffers (call after G's optimizer step number `step`)."""
        torch._foreach_lerp_(self._params, self._source_params, 1.0 - self.decay_at(step))
        self.copy_buffers()

    @torch.no_grad()
    def copy_buffers(self) -> None:
        """Buffers are statistics, not weights: the EMA copy uses G's current ones (averaging them would mix eras)."""
        if self._buffers:
            torch._foreach_copy_(self._buffers, self._source_buffers)

    def state_dict(self) -> dict[str, Any]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Load averaged weights, then take G's buffers (older checkpoints hold EMA buffers synced only at sampling)."""
        self.module.load_state_dict(state)
        self.copy_buffers()
