"""Run folders under checkpoints/: safe names, the writer that saves grids/checkpoints/meta, listing and deletion."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..config import RunConfig
from ..errors import ConfigError, TrainingError, disk_error
from ..fileio import write_atomic
from ..images import grid_image, png_bytes
from ..metric_names import LOSS_D, QUALITY, STEP, STEP_METRICS
from ..sampling import generate
from ..train.callbacks import GRID, PREVIEW
from .checkpoints import CHECKPOINT_SUFFIX, find_checkpoints, save_checkpoint
from .liveness import (
    HEARTBEAT_SECONDS,
    META_FILE,
    WRITER,
    check_not_written_elsewhere,
    read_meta,
    writer_identity,
)
from .metrics_log import METRICS_FILE, MetricsLog
from .preview import write_preview
from .tensorboard import TensorBoardLog

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
_GRID_RE = re.compile(r"^step-(\d+)\.png$")  # the names grid_path gives
GRID_DIR = "grids"


def checkpoint_root() -> Path:
    """Where runs live: $GAN_WORKBENCH_CHECKPOINTS, else checkpoints/ beside the package."""
    env = os.environ.get("GAN_WORKBENCH_CHECKPOINTS")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "checkpoints"


def validate_run_name(name: str) -> str:
    """A run name is one plain folder name: letters, digits, '-', '_', '.'; no '..', slashes or absolute paths."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name:
        raise ConfigError(f"Invalid run name {name!r}: use letters, digits, '-', '_' and '.' (no '/', no '..').")
    return name


def run_path(name: str, root: str | Path | None = None) -> Path:
    """The folder of run `name` inside root; refuses names or links that would lead outside root."""
    root = Path(root) if root is not None else checkpoint_root()
    path = root / validate_run_name(name)
    if path.is_symlink() or (path.exists() and not path.resolve().is_relative_to(root.resolve())):
        raise ConfigError(f"Run folder {path} is a link pointing outside {root}: refused.")
    return path


def new_run_name(cfg: RunConfig, root: str | Path | None = None) -> str:
    """A fresh, readable run name: preset (or data set + arch) and a timestamp; suffixed if taken."""
    base = cfg.preset or f"{cfg.data.name}-{cfg.model.arch}"
    name = f"{base}-{time.strftime('%Y%m%d-%H%M%S')}"
    root = Path(root) if root is not None else checkpoint_root()
    candidate, i = name, 2
    while (root / candidate).exists():
        candidate, i = f"{name}-{i}", i + 1
    return candidate


def holds_run(folder: str | Path) -> bool:
    """Whether a folder holds (part of) a run: its meta, metrics log or a checkpoint."""
    folder = Path(folder)
    return folder.is_dir() and ((folder / META_FILE).is_file() or (folder / METRICS_FILE).is_file()
                                or bool(find_checkpoints(folder)))


def check_fresh_folder(folder: str | Path) -> None:
    """Refuse (ConfigError) to start a new run in a folder that holds another run: nothing of it may be lost."""
    folder = Path(folder)
    if not holds_run(folder):
        return
    meta = read_meta(folder)
    cfg = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    what = cfg.get("preset") or (cfg.get("model") or {}).get("arch") or "a run"
    at = f", step {int(meta['step']):,}" if isinstance(meta.get("step"), int | float) else ""
    raise ConfigError(f"The folder '{folder.name}' already holds a run ({what}{at}): continue it on the Runs page, or "
                      "choose another run name.",
                      cli=f"{folder} already holds a run ({what}{at}): continue it with --resume {folder}, or choose "
                          "another --out folder.")


def grid_path(run_dir: str | Path, step: int) -> Path:
    """Where the fixed-noise grid of `step` is saved: grids/step-0000123.png."""
    return Path(run_dir) / GRID_DIR / f"step-{step:07d}.png"


def grid_step(path: str | Path) -> int | None:
    """The step of a grid file named by grid_path, or None for any other file name."""
    match = _GRID_RE.match(Path(path).name)
    return int(match.group(1)) if match else None


@dataclass
class RunInfo:
    """What the Runs page and the CLI show about one run folder, without loading any checkpoint."""

    name: str
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def grids(self) -> list[Path]:
        """The run's grid files in step order (by number: past step 9,999,999 the names no longer sort)."""
        steps = {p: grid_step(p) for p in (self.path / GRID_DIR).glob("*.png")}
        return sorted((p for p, step in steps.items() if step is not None), key=steps.__getitem__)

    @property
    def checkpoints(self) -> list[Path]:
        return find_checkpoints(self.path)


def list_runs(root: str | Path | None = None) -> list[RunInfo]:
    """Every run folder under root, newest first; folders without readable meta still appear."""
    root = Path(root) if root is not None else checkpoint_root()
    if not root.is_dir():
        return []
    runs = []
    for p in root.iterdir():
        if p.is_dir() and not p.is_symlink() and _NAME_RE.match(p.name) and not p.name.startswith("."):
            runs.append(RunInfo(p.name, p, read_meta(p)))
    return sorted(runs, key=lambda r: r.meta.get("updated", r.path.stat().st_mtime), reverse=True)


def delete_run(name: str, root: str | Path | None = None) -> None:
    """Remove a run folder (name validated, never follows links out of root)."""
    path = run_path(name, root)
    if path.is_dir():
        shutil.rmtree(path)


class RunWriter:
    """Persists a training run: fixed-noise grid PNGs, periodic checkpoints (newest `keep`), metrics.jsonl, and
    meta.json, which names this process as the writer and is refreshed at least every HEARTBEAT_SECONDS of wall
    time while it trains, so that readers in other processes can tell a live run from a lost one."""

    def __init__(self, run_dir: str | Path, keep: int = 3, clock: Callable[[], float] = time.monotonic):
        self.dir = Path(run_dir)
        self.keep = keep
        self.clock = clock
        self.last_saved_step = -1
        self.last_checkpoint: Path | None = None
        self.last_grid_step = -1  # step of the newest grid saved by this writer
        self.save_error: str | None = None
        self.tensorboard = TensorBoardLog(self.dir)  # event files beside the checkpoints
        self.metrics = MetricsLog(self.dir)
        self.meta_written = -math.inf  # clock() of the last meta.json write
        self.meta_status: str | None = None  # the status it recorded
        self.started = False  # start() claimed the folder: until then finish() must not touch it

    def start(self, trainer: Any, status: str = "running") -> None:
        """Claim the folder (refused, UserError, while another process trains in it), then write what is known."""
        check_not_written_elsewhere(self.dir, read_meta(self.dir))
        if trainer.step_count == 0:  # a new run (a resumed one starts at its checkpoint's step) needs its own folder
            check_fresh_folder(self.dir)
        self.started = True
        (self.dir / GRID_DIR).mkdir(parents=True, exist_ok=True)
        self.metrics.start(trainer)
        self.write_meta(trainer, status)
        self.tensorboard.start(trainer)

    def on_step(self, trainer: Any, events: set[str]) -> None:
        self.tensorboard.on_step(trainer)
        if GRID in events and trainer.latest_grid is not None:
            self._save_grid(trainer.step_count, trainer.latest_grid)
        elif PREVIEW in events and trainer.latest_grid is not None:
            try:  # for an app watching from another process; a preview that cannot be written is only skipped
                write_preview(self.dir, trainer.step_count, trainer.latest_grid)
            except OSError:
                pass
        if trainer.step_count % trainer.config.train.checkpoint_every == 0:
            self.save(trainer)
        self.metrics.on_step(trainer, events)
        self.heartbeat(trainer)

    def heartbeat(self, trainer: Any, status: str = "running") -> None:
        """Rewrite meta.json when HEARTBEAT_SECONDS passed since the last write or the status changed (paused)."""
        if status != self.meta_status or self.clock() - self.meta_written >= HEARTBEAT_SECONDS:
            self.write_meta(trainer, status)

    def save(self, trainer: Any, meta: bool = True) -> Path | None:
        """Save a checkpoint unless weights are non-finite; on a failed save (disk full) the old one stays.
        meta: refresh meta.json after it (finish writes its own, final one)."""
        if trainer.step_count == self.last_saved_step:
            return self.last_checkpoint
        if not trainer.weights_finite():
            self.save_error = f"Weights became non-finite by step {trainer.step_count}: not saved."
            return None
        path = self.dir / f"ckpt-{trainer.step_count:07d}{CHECKPOINT_SUFFIX}"
        save_checkpoint(trainer.state_dict(), path)  # raises TrainingError (disk full); previous file untouched
        self.last_saved_step, self.last_checkpoint = trainer.step_count, path
        self.tensorboard.flush()
        for old in find_checkpoints(self.dir)[self.keep:]:
            old.unlink(missing_ok=True)
        if meta:
            self.write_meta(trainer, "running")
        return path

    def finish(self, trainer: Any, status: str, error: str | None = None) -> None:
        """Final checkpoint (if the weights are finite and training got anywhere) and final meta; nothing when start()
        was refused (the folder is another process's)."""
        if not self.started:
            return
        try:
            if trainer.step_count > 0 and status != "failed":
                self.save(trainer, meta=False)  # the one meta.json write is the final one below
                self.save_last_grid(trainer)
        except TrainingError as e:
            error = error or str(e)
        try:
            self.metrics.finish(trainer)
        except OSError as e:  # a full disk: the final meta.json below still says how the run ended
            error = error or str(disk_error(e) or e)
        self.write_meta(trainer, status, error, durable=True)  # how the run ended must survive a crash
        self.tensorboard.finish(trainer, status)

    def save_last_grid(self, trainer: Any) -> None:
        """The grid of the step training ended at, when no grid was saved there (a run stopped between grids would
        otherwise keep showing its first, untrained one)."""
        if self.last_grid_step == trainer.step_count or not trainer.weights_finite():
            return
        self._save_grid(trainer.step_count, generate(trainer.sampler, trainer.fixed_z, trainer.fixed_y))

    def _save_grid(self, step: int, grid: torch.Tensor) -> None:
        """grid: uint8 num_fixed x C x H x W -> grids/step-N.png and TensorBoard (one PNG encoding for both)."""
        image = grid_image(grid)
        png = png_bytes(image)
        write_atomic(grid_path(self.dir, step), png, durable=False)  # the checkpoint can draw it again
        self.tensorboard.add_grid(step, png, image.width, image.height)
        self.last_grid_step = step

    def write_meta(self, trainer: Any, status: str, error: str | None = None, durable: bool = False) -> None:
        """meta.json: atomic always; fsynced only when durable (the final one), since heartbeats follow each other
        every few seconds and a crash leaves the previous one, which readers judge lost by its age anyway."""
        cfg: RunConfig = trainer.config
        last = next((h for h in reversed(trainer.history) if LOSS_D in h), {})
        quality = next((h for h in reversed(trainer.history) if QUALITY in h), {})
        meta = {
            "name": self.dir.name, "status": status, "error": error, "preset": cfg.preset,
            "dataset": cfg.data.name, "arch": cfg.model.arch, "loss": cfg.train.loss,
            "image_shape": list(trainer.image_shape), "step": trainer.step_count, "total_steps": trainer.total_steps,
            "train_seconds": round(trainer.train_seconds, 2), "updated": time.time(), WRITER: writer_identity(),
            "batch_size": trainer.batch_size, "hardware": trainer.hardware,
            "class_names": list(trainer.data.class_names or []),
            "world_size": trainer.world.size, "global_batch": trainer.global_batch,  # torchrun: processes, images/step
            "last": {k: last[k] for k in STEP_METRICS if k in last},
            "quality": {k: v for k, v in quality.items() if k != STEP},
            "alerts": [a["message"] for a in trainer.alerts[-5:]],
            "config": cfg.to_dict(),
        }
        write_atomic(self.dir / META_FILE, json.dumps(meta, indent=1, default=float).encode(), durable)
        self.meta_written, self.meta_status = self.clock(), status
