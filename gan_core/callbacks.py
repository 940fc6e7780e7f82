"""What runs around the training steps: fixed-noise grids, health checks (diversity, alerts) and quality scores."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import torch

from .config import RunConfig
from .data import ImageData, data_root
from .metric_names import DIVERSITY, STEP
from .metrics import HealthMonitor, QualityScorer, diversity
from .sampling import generate, sample_images

if TYPE_CHECKING:
    from .trainer import Trainer

# Event names: Trainer.run passes the set of what happened at a step to every callback and to its on_step hook.
LOG = "log"  # metrics were flushed into the history
GRID = "grid"  # trainer.latest_grid holds a new fixed-noise grid, to save (every sample_every steps)
PREVIEW = "preview"  # trainer.latest_grid holds a new fixed-noise grid to show live only (time-based)
QUALITY = "quality"  # a quality score entered the history

C = TypeVar("C", bound="Callback")


class Callback:
    """Called by Trainer.run after every step, in list order, and with every metrics entry the trainer reports."""

    timed = False  # True: its time counts as training time (train_seconds, img/s); scores and checks do not

    def on_step(self, trainer: Trainer, events: set[str]) -> None:
        """After a step; may add event names to `events`."""

    def on_report(self, trainer: Trainer, entry: dict[str, float]) -> None:
        """After `entry` entered trainer.history."""


class FixedNoiseGrid(Callback):
    """The sampling generator on the run's fixed noise: a saved grid (GRID) every `every` steps, at the last step and
    at a run's first; between those, a preview (PREVIEW, shown live but not saved) whenever `seconds` of wall time
    passed without a grid, and every `first_seconds` during the first `first_window` s, so the live page never
    waits minutes for the next picture on a slow machine."""

    timed = True  # the app has always counted the grid as part of training

    def __init__(self, every: int, seconds: float = 10.0, first_seconds: float = 2.0, first_window: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.seconds, self.first_seconds, self.first_window = seconds, first_seconds, first_window
        self.clock = clock
        self.started: float | None = None  # wall time of the first step this callback saw
        self.last = 0.0  # wall time of the last grid or preview

    def on_step(self, trainer: Trainer, events: set[str]) -> None:
        step, now = trainer.step_count, self.clock()
        if self.started is None:
            self.started = now
        if step % self.every == 0 or step == trainer.total_steps or trainer.latest_grid is None:
            events.add(GRID)
        elif now - self.last >= (self.first_seconds if now - self.started < self.first_window else self.seconds):
            events.add(PREVIEW)
        else:
            return
        self.last = now
        trainer.latest_grid = generate(trainer.sampler, trainer.fixed_z, trainer.fixed_y)  # uint8 N x C x H x W


class HealthCheck(Callback):
    """Turns reported metrics into alerts (HealthMonitor) and reports G's fixed-noise diversity at every grid."""

    def __init__(self, monitor: HealthMonitor) -> None:
        self.monitor = monitor

    def on_step(self, trainer: Trainer, events: set[str]) -> None:
        if GRID in events and trainer.latest_grid is not None:
            # Diversity of G itself: an EMA copy lags by ~1/(1 - decay) steps and looks collapsed early on.
            grid = trainer.latest_grid if trainer.ema is None else generate(trainer.G, trainer.fixed_z, trainer.fixed_y)
            trainer.report({STEP: trainer.step_count, DIVERSITY: diversity(grid)})

    def on_report(self, trainer: Trainer, entry: dict[str, float]) -> None:
        for alert in self.monitor.update(int(entry[STEP]), entry):
            trainer.add_alert(alert.kind, alert.step, alert.message)


class QualityScore(Callback):
    """Scores `num_samples` fresh samples against the real set every `every` steps and at the last step, but never
    so often that scoring takes more than `budget` of the wall time (a fast MLP reaches 500 steps in a second, and
    a score costs about half of one).

    The real set's statistics are computed on first use and cached on disk in cache_dir. Samples come from a
    generator seeded by (seed, step): scores are reproducible and leave the training's random streams alone.
    """

    def __init__(self, every: int, num_samples: int = 1000, cache_dir: Path | None = None, seed: int = 0,
                 scorer: QualityScorer | None = None, budget: float = 0.05,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.num_samples = num_samples
        self.cache_dir = cache_dir
        self.seed = seed
        self.scorer = scorer  # built on first use unless given
        self.budget, self.clock = budget, clock
        self.last_step = 0
        self.last_end = -math.inf  # wall time the last score finished
        self.last_cost = 0.0  # how long it took

    def on_step(self, trainer: Trainer, events: set[str]) -> None:
        step = trainer.step_count
        if not self.every:
            return
        if step != trainer.total_steps and (
                step - self.last_step < self.every
                or (self.clock() - self.last_end) * self.budget < self.last_cost):
            return
        if self.scorer is None:  # real statistics (and a classifier) once; not part of a score's cost
            self.scorer = QualityScorer(trainer.data, self.cache_dir)
        started = self.clock()
        self.measure(trainer)
        self.last_step, self.last_end = step, self.clock()
        self.last_cost = self.last_end - started
        events.add(QUALITY)

    def measure(self, trainer: Trainer) -> dict[str, float]:
        """Score the sampling generator now and report the entry ({step, quality, kid, coverage/...})."""
        if self.scorer is None:
            self.scorer = QualityScorer(trainer.data, self.cache_dir)
        rng = torch.Generator(trainer.device).manual_seed(self.seed * 1_000_003 + trainer.step_count)
        entry: dict[str, float] = {STEP: trainer.step_count}
        entry.update(self.scorer.score(sample_images(trainer.sampler, self.num_samples, rng)))
        trainer.report(entry)
        return entry


def default_callbacks(config: RunConfig, data: ImageData) -> list[Callback]:
    """The app's and the CLI's callbacks, in the order they run: grid, health (diversity of that grid), quality."""
    t = config.train
    # Alerts compare the fixed-noise grid's diversity with the real set's at the same sample size.
    monitor = HealthMonitor(real_diversity=diversity(data.images, max_samples=t.num_fixed),
                            num_classes=data.num_classes or None)
    return [FixedNoiseGrid(t.sample_every), HealthCheck(monitor),
            QualityScore(t.quality_every, cache_dir=data_root() / "stats", seed=t.seed)]


def find(callbacks: list[Callback], kind: type[C]) -> C | None:
    """The first callback of type `kind`, or None."""
    return next((c for c in callbacks if isinstance(c, kind)), None)
