"""Run folders under checkpoints/: safe names, the writer that saves grids/checkpoints/meta, listing and deletion."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .callbacks import GRID
from .checkpoints import CHECKPOINT_SUFFIX, find_checkpoints, save_checkpoint
from .config import RunConfig
from .errors import ConfigError, TrainingError
from .fileio import write_atomic
from .images import grid_image, png_bytes
from .metric_names import LOSS_D, QUALITY, STEP, STEP_METRICS
from .tensorboard import TensorBoardLog

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
_GRID_RE = re.compile(r"^step-(\d+)\.png$")  # the names grid_path gives
GRID_DIR = "grids"
META_FILE = "meta.json"


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


def read_meta(run_dir: Path) -> dict[str, Any]:
    try:
        meta = json.loads((run_dir / META_FILE).read_text())
        return meta if isinstance(meta, dict) else {}
    except (OSError, ValueError):
        return {}


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
    """Persists a training run: fixed-noise grid PNGs, periodic checkpoints (newest `keep`), meta.json."""

    def __init__(self, run_dir: str | Path, keep: int = 3):
        self.dir = Path(run_dir)
        self.keep = keep
        self.last_saved_step = -1
        self.last_checkpoint: Path | None = None
        self.save_error: str | None = None
        self.tensorboard = TensorBoardLog(self.dir)  # event files beside the checkpoints

    def start(self, trainer: Any, status: str = "running") -> None:
        (self.dir / GRID_DIR).mkdir(parents=True, exist_ok=True)
        self.write_meta(trainer, status)
        self.tensorboard.start(trainer)

    def on_step(self, trainer: Any, events: set[str]) -> None:
        self.tensorboard.on_step(trainer, events)
        if GRID in events and trainer.latest_grid is not None:
            write_atomic(grid_path(self.dir, trainer.step_count), png_bytes(grid_image(trainer.latest_grid)))
        if trainer.step_count % trainer.config.train.checkpoint_every == 0:
            self.save(trainer)

    def save(self, trainer: Any) -> Path | None:
        """Save a checkpoint unless weights are non-finite; on a failed save (disk full) the old one stays."""
        if trainer.step_count == self.last_saved_step:
            return self.last_checkpoint
        if not trainer.weights_finite():
            self.save_error = f"Weights became non-finite by step {trainer.step_count}: not saved."
            return None
        path = self.dir / f"ckpt-{trainer.step_count:07d}{CHECKPOINT_SUFFIX}"
        save_checkpoint(trainer.state_dict(), path)  # raises TrainingError (disk full); previous file untouched
        self.last_saved_step, self.last_checkpoint = trainer.step_count, path
        for old in find_checkpoints(self.dir)[self.keep:]:
            old.unlink(missing_ok=True)
        self.write_meta(trainer, "running")
        return path

    def finish(self, trainer: Any, status: str, error: str | None = None) -> None:
        """Final checkpoint (if the weights are finite and training got anywhere) and final meta."""
        try:
            if trainer.step_count > 0 and status != "failed":
                self.save(trainer)
        except TrainingError as e:
            error = error or str(e)
        self.write_meta(trainer, status, error)
        self.tensorboard.finish(trainer, status)

    def write_meta(self, trainer: Any, status: str, error: str | None = None) -> None:
        cfg: RunConfig = trainer.config
        last = next((h for h in reversed(trainer.history) if LOSS_D in h), {})
        quality = next((h for h in reversed(trainer.history) if QUALITY in h), {})
        meta = {
            "name": self.dir.name, "status": status, "error": error, "preset": cfg.preset,
            "dataset": cfg.data.name, "arch": cfg.model.arch, "loss": cfg.train.loss,
            "image_shape": list(trainer.image_shape), "step": trainer.step_count, "total_steps": trainer.total_steps,
            "train_seconds": round(trainer.train_seconds, 2), "updated": time.time(),
            "world_size": trainer.world.size, "global_batch": trainer.global_batch,  # torchrun: processes, images/step
            "last": {k: last[k] for k in STEP_METRICS if k in last},
            "quality": {k: v for k, v in quality.items() if k != STEP},
            "alerts": [a["message"] for a in trainer.alerts[-5:]],
            "config": cfg.to_dict(),
        }
        write_atomic(self.dir / META_FILE, json.dumps(meta, indent=1, default=float).encode())
