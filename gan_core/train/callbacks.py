"""What runs around the training steps: fixed-noise grids, health checks (diversity, alerts) and quality scores."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import torch

from ..config import RunConfig
from ..data import ImageData, data_root
from ..metric_names import DIVERSITY, STEP
from ..metrics import HealthMonitor, QualityScorer, copy_pairs, diversity
from ..models import Generator
from ..sampling import generate, sample_images
from .state import RunState

# Event names: Trainer.run passes the set of what happened at a step to every callback and to its on_step hook.
LOG = "log"  # metrics were flushed into the history
GRID = "grid"  # trainer.latest_grid holds a new fixed-noise grid, to save (every sample_every steps)
PREVIEW = "preview"  # trainer.latest_grid holds a new fixed-noise grid to show live only (time-based)
SCORED = "scored"  # a quality score entered the history (its metric key is metric_names.QUALITY)

C = TypeVar("C", bound="Callback")


class Callback:
    """Called by Trainer.run after every step, in list order, and with every metrics entry the trainer reports."""

    timed = False  # True: its time counts as training time (train_seconds, img/s); scores and checks do not

    def on_step(self, trainer: RunState, events: set[str]) -> None:
        """After a step; may add event names to `events`."""

    def on_report(self, trainer: RunState, entry: dict[str, float]) -> None:
        """After `entry` entered trainer.history."""

    def on_end(self, trainer: RunState) -> None:
        """When Trainer.run returns (done, stopped or out of time): finish work still in flight."""


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

    def on_step(self, trainer: RunState, events: set[str]) -> None:
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
        trainer.latest_grid = self.render(trainer)

    def render(self, trainer: RunState) -> torch.Tensor:
        """The picture of this step: uint8 N x C x H x W, the sampling generator on the fixed noise."""
        return generate(trainer.sampler, trainer.fixed_z, trainer.fixed_y)


class HealthCheck(Callback):
    """Turns reported metrics into alerts (HealthMonitor) and reports G's fixed-noise diversity at every grid."""

    def __init__(self, monitor: HealthMonitor) -> None:
        self.monitor = monitor

    def on_step(self, trainer: RunState, events: set[str]) -> None:
        if GRID in events and trainer.latest_grid is not None:
            # Diversity of G itself: an EMA copy lags by ~1/(1 - decay) steps and looks collapsed early on.
            grid = trainer.latest_grid if trainer.ema is None else generate(trainer.G, trainer.fixed_z, trainer.fixed_y)
            trainer.report({STEP: trainer.step_count, DIVERSITY: diversity(grid)})

    def on_report(self, trainer: RunState, entry: dict[str, float]) -> None:
        for alert in self.monitor.update(int(entry[STEP]), entry):
            trainer.add_alert(alert.kind, alert.step, alert.message)


class QualityScore(Callback):
    """Scores `num_samples` fresh samples against the real set every `every` steps and at the last step, but never
    so often that scoring takes more than `budget` of the wall time (a fast MLP reaches 500 steps in a second, and
    a score costs about half of one).

    With `background`, a due score runs in a worker thread on a copy of the sampling generator taken at that step,
    so training goes on meanwhile (on the CPU the small nets train on one thread: the score takes the other core);
    the entry, stamped with its step, enters the history at the first step after it is ready. The last step's
    score is taken in place, so a finished run always ends with the score of its final weights.

    The real set's statistics are computed on first use and cached on disk in cache_dir. Samples come from a
    generator seeded by (seed, step): scores are reproducible and leave the training's random streams alone.
    """

    def __init__(self, every: int, num_samples: int = 1000, cache_dir: Path | None = None, seed: int = 0,
                 scorer: QualityScorer | None = None, budget: float = 0.05, background: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.num_samples = num_samples
        self.cache_dir = cache_dir
        self.seed = seed
        self.scorer = scorer  # built on first use unless given
        self.budget, self.background, self.clock = budget, background, clock
        self.last_step: int | None = None  # the step of the last score (a resumed run: its checkpoint's step)
        self.last_end = -math.inf  # wall time the last score finished
        self.last_cost = 0.0  # how long it took
        self._worker: ThreadPoolExecutor | None = None
        self._pending: Future[tuple[dict[str, float], torch.Tensor | None]] | None = None  # the score in flight

    def on_step(self, trainer: RunState, events: set[str]) -> None:
        self._collect(trainer, events, wait=False)
        step = trainer.step_count
        if self.last_step is None:  # the first step this run trains: a resumed run counts from its checkpoint
            self.last_step = step - 1
        if not self.every:
            return
        last = step == trainer.total_steps
        if not last and (self._pending is not None or step - self.last_step < self.every
                         or (self.clock() - self.last_end) * self.budget < self.last_cost):
            return
        self._ensure_scorer(trainer)  # real statistics (and a classifier) once; not part of a score's cost
        self.last_step = step
        if last or not self.background:
            self._collect(trainer, events, wait=True)  # the score in flight first: the history stays in step order
            self.measure(trainer)
            events.add(SCORED)
            return
        if self._worker is None:  # one thread, on one intra-op thread of its own (OpenMP counts are per thread)
            self._worker = ThreadPoolExecutor(1, "quality", initializer=torch.set_num_threads, initargs=(1,))
        g = copy.deepcopy(trainer.sampler)  # this step's weights; G trains on meanwhile
        self._pending = self._worker.submit(self._score_details, g, step)

    def on_end(self, trainer: RunState) -> None:
        self._collect(trainer, set(), wait=True)  # a run stopped early keeps the score it was taking
        if self._worker is not None:  # no idle thread left behind per run (a resumed run starts a new one)
            self._worker.shutdown()
            self._worker = None

    def measure(self, trainer: RunState) -> dict[str, float]:
        """Score the sampling generator now and report the entry ({step, quality, kid, coverage/...})."""
        self._ensure_scorer(trainer)
        entry, trainer.latest_copies = self._score_details(trainer.sampler, trainer.step_count)
        trainer.report(entry)
        return entry

    def _ensure_scorer(self, trainer: RunState) -> None:
        if self.scorer is None:
            self.scorer = QualityScorer(trainer.data, self.cache_dir)

    def _score(self, g: Generator, step: int) -> dict[str, float]:
        return self._score_details(g, step)[0]

    def _score_details(self, g: Generator, step: int) -> tuple[dict[str, float], torch.Tensor | None]:
        """The entry and the likely copies beside their training images (copy_pairs), or None when none."""
        assert self.scorer is not None
        started = self.clock()
        rng = torch.Generator(next(g.parameters()).device).manual_seed(self.seed * 1_000_003 + step)
        entry: dict[str, float] = {STEP: step}
        samples = sample_images(g, self.num_samples, rng)
        scores, report = self.scorer.score_details(samples)
        entry.update(scores)
        pairs = copy_pairs(report, samples, self.scorer.copy_check.images) if report is not None else None
        self.last_end = self.clock()
        self.last_cost = self.last_end - started
        return entry, pairs

    def _collect(self, trainer: RunState, events: set[str], wait: bool) -> None:
        """Report the score in flight once it is done (or, with wait, after waiting for it)."""
        if self._pending is None or not (wait or self._pending.done()):
            return
        future, self._pending = self._pending, None
        entry, trainer.latest_copies = future.result()  # a failed score raises here, on the training thread
        trainer.report(entry)
        events.add(SCORED)


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
