"""What runs around the training steps: fixed-noise grids, health checks (diversity, alerts) and quality scores."""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import torch

from ..config import RunConfig
from ..data import STATS_CACHE, ImageData, Progress, data_root
from ..device import pin_threads
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
# Said by the app and the CLI when the last step is done and the run waits for its final score (on a first run the
# scorer's build, up to a minute on a slow CPU, may still be under way).
FINAL_SCORE_MESSAGE = "Scoring the final samples (the quality scorer is built once per data set, then cached)..."

C = TypeVar("C", bound="Callback")
T = TypeVar("T")


class BuildCancelled(Exception):
    """Raised inside a stopped run's scorer build, at its next progress report: the build ends there."""


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

    With `background` (the app's and the CLI's way), nothing here runs on the training thread but a copy of the
    sampling generator: the scorer (real statistics, the coverage classifier: up to minutes on a first run, then read
    from the disk cache) is built in a worker thread from the run's first step, and each due score is queued behind
    it in that worker on a copy of the generator taken at its step (on the CPU the small nets train on one thread:
    the worker takes the other core). A score enters the history, stamped with its step, at the first step after it
    is ready; no step waits for one. The last step's score is queued too and collected when the run ends (on_end),
    so a finished run always ends with the score of its final weights. Without `background` (tests, benches),
    the scorer is built and each score taken in place.

    Samples come from a generator seeded by (seed, step): scores are reproducible and leave the training's random
    streams alone (the scorer's build draws from none of them either).
    """

    def __init__(self, every: int, num_samples: int = 1000, cache_dir: Path | None = None, seed: int = 0,
                 scorer: QualityScorer | None = None, budget: float = 0.05, background: bool = True,
                 clock: Callable[[], float] = time.monotonic,
                 build: Callable[[ImageData, Progress], QualityScorer] | None = None) -> None:
        self.every = every
        self.num_samples = num_samples
        self.cache_dir = cache_dir
        self.seed = seed
        self.scorer = scorer  # built on first use unless given
        # build(data, progress): progress raises BuildCancelled once the run has stopped (see on_end)
        self.build = build or (lambda data, progress: QualityScorer(data, self.cache_dir, progress=progress))
        self.budget, self.background, self.clock = budget, background, clock
        self.last_step: int | None = None  # the step of the last score (a resumed run: its checkpoint's step)
        self.last_end = -math.inf  # wall time the last score finished
        self.last_cost = 0.0  # how long it took
        self._worker: ThreadPoolExecutor | None = None
        self._building: Future[None] | None = None  # the scorer's build in the worker
        self._cancel = threading.Event()  # set when the run stops during the build: the build gives up
        # Scores in flight, in step order: (entry, likely copies beside their training images or None).
        self._pending: list[Future[tuple[dict[str, float], torch.Tensor | None]]] = []

    @property
    def ready(self) -> bool:
        """True once the scorer is built (a score can then be taken without building it first)."""
        return self.scorer is not None

    def on_step(self, trainer: RunState, events: set[str]) -> None:
        self._collect(trainer, events, wait=False)
        step = trainer.step_count
        if self.last_step is None:  # the first step this run trains: a resumed run counts from its checkpoint
            self.last_step = step - 1
        if not self.every:
            return
        if self.background:
            self._start_build(trainer)
        last = step == trainer.total_steps
        if not last and (self._pending or step - self.last_step < self.every
                         or (self.clock() - self.last_end) * self.budget < self.last_cost):
            return
        self.last_step = step
        if not self.background:
            self.measure(trainer)
            events.add(SCORED)
            return
        g = copy.deepcopy(trainer.sampler)  # this step's weights; G trains on meanwhile
        self._pending.append(self._submit(self._score_details, g, step))

    @property
    def busy(self) -> bool:
        """The scorer is building or a score is in flight: a run ending now waits for them (on_end)."""
        return self._building is not None or bool(self._pending)

    def on_end(self, trainer: RunState) -> None:
        if self._building is not None and not self._building.done() and trainer.step_count < trainer.total_steps:
            # Stopped while the scorer builds: no score to wait for, and the build gives up at its next progress
            # report (about a second apart) rather than take a core from whatever runs next for up to a minute
            # (a run started meanwhile would build again anyway: each part is cached only once it is done). The
            # run ends now; the scores queued behind the build are dropped.
            self._cancel.set()
            for future in self._pending:
                future.cancel()
            self._pending, self._building = [], None
            if self._worker is not None:
                self._worker.shutdown(wait=False)
                self._worker = None
            return
        self._collect(trainer, set(), wait=True)  # the last step's score, or the one a stopped run was taking
        if self._worker is not None:  # no idle thread left behind per run (a resumed run starts a new one)
            self._worker.shutdown()
            self._worker = None

    def measure(self, trainer: RunState) -> dict[str, float]:
        """Score the sampling generator now and report the entry ({step, quality, kid, coverage/...})."""
        if self.scorer is None:
            if self._building is not None:  # the worker builds it: wait for that rather than build it twice
                self._building.result()
            else:
                self._build(trainer.data, threading.Event())
        entry, trainer.latest_copies = self._score_details(trainer.sampler, trainer.step_count)
        trainer.report(entry)
        return entry

    def _submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        if self._worker is None:  # one thread, on one intra-op thread of its own (OpenMP counts are per thread)
            self._worker = ThreadPoolExecutor(1, "quality", initializer=pin_threads, initargs=(1,))
        return self._worker.submit(fn, *args)

    def _start_build(self, trainer: RunState) -> None:
        """Queue the scorer's build in the worker, once: scores submitted later run after it."""
        if self.scorer is None and self._building is None:
            self._cancel = threading.Event()  # this build's own: a cancelled earlier one stays cancelled
            self._building = self._submit(self._build, trainer.data, self._cancel)

    def _build(self, data: ImageData, cancel: threading.Event) -> None:
        def progress(fraction: float, message: str) -> None:
            if cancel.is_set():
                raise BuildCancelled(f"the run stopped while: {message}")

        self.scorer = self.build(data, progress)

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
        """Report the scores in flight that are done (with wait: all of them, after waiting), in step order."""
        if self._building is not None and (wait or self._building.done()):
            building, self._building = self._building, None
            building.result()  # a failed build raises here, on the training thread
        while self._pending and (wait or self._pending[0].done()):
            entry, trainer.latest_copies = self._pending.pop(0).result()  # a failure raises here, on this thread
            trainer.report(entry)
            events.add(SCORED)


def default_callbacks(config: RunConfig, data: ImageData) -> list[Callback]:
    """The app's and the CLI's callbacks, in the order they run: grid, health (diversity of that grid), quality."""
    t = config.train
    # Alerts compare the fixed-noise grid's diversity with the real set's at the same sample size.
    monitor = HealthMonitor(real_diversity=diversity(data.images, max_samples=t.num_fixed),
                            num_classes=data.num_classes or None)
    return [FixedNoiseGrid(t.sample_every), HealthCheck(monitor),
            QualityScore(t.quality_every, cache_dir=data_root() / STATS_CACHE, seed=t.seed)]


def find(callbacks: list[Callback], kind: type[C]) -> C | None:
    """The first callback of type `kind`, or None."""
    return next((c for c in callbacks if isinstance(c, kind)), None)
