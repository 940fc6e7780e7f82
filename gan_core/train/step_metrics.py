"""Per-step metrics kept on the device (no host sync in the hot loop), averaged into one entry per log interval."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn

from ..metric_names import GRAD_D, GRAD_G, IMAGES_PER_SECOND, STEP_METRICS
from ..metrics import Alert, check_finite


class StepMetrics:
    """A log_every x 4 device buffer of STEP_METRICS rows, the gradient norms of an interval's last step, and the
    clock for images/second; flush() reads it all with one host sync. `reduce` (in place) averages the rows over
    torchrun's ranks before that read (distributed.World.mean_), so every rank flushes the same values."""

    def __init__(self, log_every: int, device: torch.device,
                 reduce: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        self.log_every = log_every
        self.reduce = reduce
        self._rows = torch.zeros(log_every, len(STEP_METRICS), device=device)  # log_every x 4
        self.count = 0  # rows recorded since the last flush
        self.grad_norms = torch.zeros(2, device=device)  # |grad D|, |grad G| at the last step of an interval
        self._clock, self._clock_step = time.perf_counter(), 0

    @property
    def full(self) -> bool:
        return self.count == self.log_every

    @property
    def wants_grads(self) -> bool:
        """True during the step whose row closes the interval: only its gradient norms are logged."""
        return self.count + 1 == self.log_every

    def record(self, metrics: dict[str, torch.Tensor]) -> None:
        """One step's detached 0-dim metrics, written in place into the device buffer."""
        torch.stack([metrics[k] for k in STEP_METRICS], out=self._rows[self.count])
        self.count += 1

    def discard(self) -> None:
        """Drop the rows of the current interval (a failed step's partial metrics)."""
        self.count = 0

    def start_clock(self, step: int) -> None:
        self._clock, self._clock_step = time.perf_counter(), step

    def pause_clock(self, seconds: float) -> None:
        """Leave `seconds` (scores, saves, pauses) out of the current interval's images/second."""
        self._clock += seconds

    def flush(self, step: int, batch_size: int) -> tuple[dict[str, float], Alert | None]:
        """Averages of the recorded rows (plus grad/D, grad/G, img/s of batch_size images a step) ending at `step`,
        and a "nan" alert naming the first step with a non-finite value (the entry is then not to be used). Empties
        the buffer."""
        n = self.count
        if self.reduce is not None:
            self.reduce(self._rows[:n])  # n x 4, in place
        rows = self._rows[:n].tolist()  # the only host sync: n x 4
        grads = self.grad_norms.tolist()
        self.count = 0
        for k, row in enumerate(rows):
            alert = check_finite(dict(zip(STEP_METRICS, row)), step - n + 1 + k)
            if alert is not None:
                return {}, alert
        now = time.perf_counter()
        entry = {name: sum(r[j] for r in rows) / n for j, name in enumerate(STEP_METRICS)}
        entry[GRAD_D], entry[GRAD_G] = grads
        entry[IMAGES_PER_SECOND] = (step - self._clock_step) * batch_size / max(now - self._clock, 1e-9)
        self._clock, self._clock_step = now, step
        return entry, None


def grad_norm(module: nn.Module) -> torch.Tensor:
    """L2 norm over all parameter gradients, computed on the device (no sync)."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
