"""Exponential moving average of the generator: weights averaged and buffers copied together, after every G step."""

from __future__ import annotations

import copy
from typing import Any

import torch

from .models import Generator


class EMA:
    """A frozen copy of G whose weights trail G's (ema = decay * ema + (1 - decay) * G) and whose buffers (BatchNorm
    running statistics) equal G's after every update, so sampling from it never needs a sync of its own."""

    def __init__(self, source: Generator, decay: float) -> None:
        assert 0.0 < decay < 1.0, decay
        self.decay = decay
        self.source = source
        self.module: Generator = copy.deepcopy(source).eval().requires_grad_(False)
        # The same tensors for the whole run: load_state_dict and optimizers update them in place.
        self._params = list(self.module.parameters())
        self._source_params = list(source.parameters())
        self._buffers = list(self.module.buffers())
        self._source_buffers = list(source.buffers())

    @torch.no_grad()
    def update(self) -> None:
        """Move the weights towards G's and copy G's buffers (call after each optimizer step of G)."""
        torch._foreach_lerp_(self._params, self._source_params, 1.0 - self.decay)
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
