"""What runs around the training steps: fixed-noise grids, health checks (diversity, alerts) and quality scores."""

from __future__ import annotations

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
GRID = "grid"  # trainer.latest_grid holds a new fixed-noise grid
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
    """The sampling generator on the run's fixed noise every `every` steps, at the last step and at a run's first."""

    timed = True  # the app has always counted the grid as part of training

    def __init__(self, every: int) -> None:
        self.every = every

    def on_step(self, trainer: Trainer, events: set[str]) -> None:
        step = trainer.step_count
        if step % self.every == 0 or step == trainer.total_steps or trainer.latest_grid is None:
            trainer.latest_grid = generate(trainer.sampler, trainer.fixed_z, trainer.fixed_y)  # uint8 N x C x H x W
            events.add(GRID)


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
    """Scores `num_samples` fresh samples against the real set every `every` steps and at the last step.

    The real set's statistics are computed on first use and cached on disk in cache_dir. Samples come from a
    generator seeded by (seed, step): scores are reproducible and leave the training's random streams alone.
    """

    def __init__(self, every: int, num_samples: int = 1000, cache_dir: Path | None = None, seed: int = 0,
                 scorer: QualityScorer | None = None) -> None:
        self.every = every
        self.num_samples = num_samples
        self.cache_dir = cache_dir
        self.seed = seed
        self.scorer = scorer  # built on first use unless given

    def on_step(self, trainer: Trainer, events: set[str]) -> None:
        step = trainer.step_count
        if self.every and (step % self.every == 0 or step == trainer.total_steps):
            self.measure(trainer)
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
