"""How long a recipe needs here: its steps to recognisable samples (presets) times a speed measured on this machine."""

from __future__ import annotations

import json
import platform
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .config import RunConfig
from .data import ImageData, data_root
from .fileio import write_atomic
from .presets import PRESETS
from .timefmt import format_seconds

# The data sets' image shape and class count without loading them (a probe times random images of that shape:
# speed does not depend on pixel values): data set -> (channels, side, classes).
NATIVE = {"shapes": (3, 32, 3), "mnist": (1, 28, 10), "fashion_mnist": (1, 28, 10), "cifar10": (3, 32, 10),
          "celeba": (3, 64, 0), "folder": (3, 64, 0), "stacked_mnist": (3, 28, 1000)}
PROBE_SECONDS = 2.0  # timed steps of a probe, after PROBE_WARMUP steps (first-call allocations, oneDNN choices)
PROBE_WARMUP = 3
MIN_RUN_SECONDS = 10.0  # a run of the recipe must have trained this long for its speed to count
PROBE_FILE = "speed-probes.json"  # in the data folder: one probe per recipe and machine, kept


@dataclass(frozen=True)
class Speed:
    """Training steps per second of one recipe on this machine, and where the figure comes from (in words)."""

    steps_per_second: float
    source: str


def _same_recipe(meta: dict[str, Any], cfg: RunConfig) -> bool:
    """A run's meta.json trained the recipe as configured here (same model, batch and precision choice), here."""
    c = meta.get("config") or {}
    train = c.get("train") or {}
    return (c.get("model") == cfg.to_dict()["model"] and train.get("batch_size") == cfg.train.batch_size
            and train.get("amp") == cfg.train.amp and int(meta.get("world_size") or 1) == 1
            and (meta.get("writer") or {}).get("host") == socket.gethostname())


def last_run_speed(cfg: RunConfig, metas: Iterable[tuple[str, dict[str, Any]]]) -> Speed | None:
    """The newest run of this recipe on this machine that trained at least MIN_RUN_SECONDS: its steps per training
    second (grids, scores and saves excluded). metas: (run name, meta.json) pairs, e.g. from runs.list_runs()."""
    best: tuple[float, str, float] | None = None
    for name, meta in metas:
        seconds, steps = float(meta.get("train_seconds") or 0.0), int(meta.get("step") or 0)
        if seconds < MIN_RUN_SECONDS or steps <= 0 or meta.get("preset") != cfg.preset or not _same_recipe(meta, cfg):
            continue
        updated = float(meta.get("updated") or 0.0)
        if best is None or updated > best[0]:
            best = (updated, name, steps / seconds)
    if best is None:
        return None
    return Speed(best[2], f"measured by your last run of this recipe here, {best[1]}")


def probe_key(cfg: RunConfig) -> str:
    """One probe per recipe, settings that change the speed, machine and torch version."""
    t = cfg.train
    return json.dumps([cfg.preset, cfg.to_dict()["model"], cfg.data.image_size, t.batch_size, t.amp, t.n_critic,
                       t.loss, socket.gethostname(), platform.processor() or platform.machine(), torch.__version__])


def _probe_file() -> Path:
    return data_root() / PROBE_FILE


def cached_probe(cfg: RunConfig) -> Speed | None:
    """A probe of this recipe measured earlier on this machine, or None."""
    try:
        found = json.loads(_probe_file().read_text()).get(probe_key(cfg))
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(found, dict) or not found.get("steps_per_second"):
        return None
    return Speed(float(found["steps_per_second"]), f"measured by a {PROBE_SECONDS:g} s probe on this machine")


def probe_speed(cfg: RunConfig, seconds: float | None = None) -> Speed:
    """Train the recipe for `seconds` on random images of its data set's shape (no files needed) and keep the steps
    per second in the data folder: a machine is probed once per recipe. Runs in the calling thread (its torch
    thread count is set as a run's would be); the global random stream is left as it was."""
    seconds = PROBE_SECONDS if seconds is None else seconds
    c, side, classes = NATIVE.get(cfg.data.name, (3, 32, 0))
    shape = (cfg.data.channels or c, cfg.data.image_size or side, cfg.data.image_size or side)
    probe_cfg = cfg.copy()
    probe_cfg.train.device = "cpu" if cfg.train.device == "auto" and not torch.cuda.is_available() else cfg.train.device
    # the trainer imports the data and model registries: only when a probe runs
    from .train.trainer import Trainer

    with torch.random.fork_rng(devices=[]):
        g = torch.Generator().manual_seed(0)
        n = max(4 * cfg.train.batch_size, 256)
        images = torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=g)
        labels = torch.randint(0, classes, (n,), generator=g) if classes else None
        data = ImageData(images, labels, [str(i) for i in range(classes)] if classes else None, cfg.data.name)
        # The balance's encoder is trained once per data set (a minute and more): the probe times an untrained one,
        # which costs a step the same.
        trainer = Trainer(probe_cfg, data=data, callbacks=[], untrained_balance=True)
        for _ in range(PROBE_WARMUP):
            trainer.step()
        trainer.flush_metrics()  # one host sync, as a run makes per log
        steps, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            trainer.step()
            steps += 1
            if trainer.step_metrics.full:
                trainer.flush_metrics()
        trainer.flush_metrics()
        elapsed = time.perf_counter() - started
    speed = Speed(steps / elapsed, f"measured by a {seconds:g} s probe on this machine")
    try:
        path = _probe_file()
        known = json.loads(path.read_text()) if path.is_file() else {}
        known[probe_key(cfg)] = {"steps_per_second": speed.steps_per_second, "measured": time.time()}
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(known, indent=1).encode())
    except (OSError, ValueError):  # a read-only data folder: the figure is still good for this session
        pass
    return speed


def recognisable_after(preset: str | None) -> int | None:
    """Steps the recipe needs to draw recognisable samples (Preset.recognisable_after), or None when not measured."""
    return PRESETS[preset].recognisable_after if preset in PRESETS else None


def expectation_line(cfg: RunConfig, speed: Speed | None, measuring: bool = False) -> str | None:
    """'Recognisable shapes after about 3,000 steps: about 0:02:40 of training here (18.8 steps/s, measured by ...).'

    None when the recipe has no measured steps-to-quality (a custom recipe, a tutorial preset)."""
    steps = recognisable_after(cfg.preset)
    if steps is None:
        return None
    what = {"shapes": "shapes", "mnist": "digits", "fashion_mnist": "clothes"}.get(cfg.data.name, "samples")
    line = f"Recognisable {what} after about **{steps:,} steps**"
    if cfg.train.steps is not None and cfg.train.epochs is None and steps > cfg.train.steps:
        line += f" (this run stops at {cfg.train.steps:,})"
    if speed is None and measuring:
        return line + ". *Measuring this machine's speed for this recipe (a few seconds, once)...*"
    if speed is None:
        return line + "; how long that takes here is measured when the run starts."
    return (f"{line}: about **{format_seconds(steps / speed.steps_per_second)}** of training here "
            f"({speed.steps_per_second:.1f} steps/s, {speed.source}).")
