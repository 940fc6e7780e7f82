"""Checkpoint files: atomic save, safe load (weights_only=True), validation, and the newest valid one of a run."""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

from .config import RunConfig
from .errors import CheckpointError, ConfigError, TrainingError

CHECKPOINT_SUFFIX = ".pt"
TEMP_PREFIX = ".tmp-"  # temp files of interrupted saves start with this and are cleaned up on the next start
REQUIRED_KEYS = ("format_version", "config", "image_shape", "step", "G", "D")


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write state atomically: temp file in the same folder, flush, fsync, os.replace. The old file survives any failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=CHECKPOINT_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows: readers see the old or the new file, never half of one
        _fsync_dir(path.parent)
    except OSError as e:
        _unlink(tmp)
        reason = "the disk is full" if e.errno == 28 else str(e)
        raise TrainingError(f"Could not save checkpoint {path}: {reason}. Free some space; "
                            "the previous checkpoint is untouched.") from e
    except BaseException:
        _unlink(tmp)
        raise
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and validate a checkpoint with weights_only=True (never unpickles arbitrary objects)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}: check the path, or run 'python -m gan_core list --runs'.")
    if path.stat().st_size == 0:
        raise CheckpointError(f"Corrupt checkpoint {path}: the file is empty (an interrupted save?).")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        msg = str(e)
        if "GLOBAL torch.nn.modules" in msg:
            raise CheckpointError(f"Refused checkpoint {path}: it holds a whole pickled model, which could run code; "
                                  "re-export its weights with torch.save(model.state_dict()).") from e
        if "GLOBAL" in msg:
            raise CheckpointError(f"Refused checkpoint {path}: it holds objects other than weights, which could run "
                                  "code when loaded. Only weights-only checkpoints are accepted.") from e
        raise CheckpointError(f"Corrupt checkpoint {path}: it is not a readable checkpoint file.") from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError, AttributeError,
            IndexError, TypeError, UnicodeDecodeError, MemoryError) as e:
        raise CheckpointError(f"Corrupt checkpoint {path}: it cannot be read ({type(e).__name__}).") from e
    if not isinstance(state, dict) or any(k not in state for k in REQUIRED_KEYS):
        raise CheckpointError(f"Corrupt checkpoint {path}: it is not a GAN Workbench checkpoint (keys missing).")
    try:
        RunConfig.from_dict(state["config"])
    except ConfigError as e:
        raise CheckpointError(f"Checkpoint {path} has an invalid configuration: {e}") from e
    return state


def check_compatible(state: dict[str, Any], config: RunConfig, image_shape: tuple[int, int, int], num_classes: int) -> None:
    """Raise CheckpointError naming every difference that makes the checkpoint's weights unusable here."""
    saved = RunConfig.from_dict(state["config"])
    diffs = []
    for key in ("arch", "latent_dim", "width", "conditional"):
        a, b = getattr(saved.model, key), getattr(config.model, key)
        if a != b:
            diffs.append(f"{key} {a} vs {b}")
    saved_shape = tuple(state["image_shape"])
    if saved_shape[0] != image_shape[0]:
        diffs.append(f"channels {saved_shape[0]} vs {image_shape[0]}")
    if saved_shape[1:] != tuple(image_shape[1:]):
        diffs.append(f"image size {saved_shape[1]} vs {image_shape[1]}")
    if saved.model.conditional and int(state.get("num_classes", 0)) != num_classes:
        diffs.append(f"classes {state.get('num_classes')} vs {num_classes}")
    if saved.train.loss != config.train.loss and "wgan-gp" in (saved.train.loss, config.train.loss):
        diffs.append(f"loss {saved.train.loss} vs {config.train.loss} (critic normalisation differs)")
    if diffs:
        raise CheckpointError("The checkpoint does not match this model (checkpoint vs now): " + "; ".join(diffs) + ".")


def find_checkpoints(run_dir: str | Path) -> list[Path]:
    """Checkpoint files of a run, newest first (by step in the name, then modification time); temp files excluded."""
    run_dir = Path(run_dir)
    files = [p for p in run_dir.glob(f"*{CHECKPOINT_SUFFIX}") if not p.name.startswith(TEMP_PREFIX) and p.is_file()]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)


def latest_valid_checkpoint(run_dir: str | Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint of run_dir that loads and validates, with its state; None when there is none."""
    for path in find_checkpoints(run_dir):
        try:
            return path, load_checkpoint(path)
        except CheckpointError:
            continue
    return None


def clean_temp_files(root: str | Path) -> list[Path]:
    """Remove leftover temp files of interrupted saves under root; returns what was removed."""
    removed = []
    for p in Path(root).rglob(f"{TEMP_PREFIX}*"):
        if p.is_file() and not p.is_symlink():
            _unlink(p)
            removed.append(p)
    return removed


def _fsync_dir(folder: Path) -> None:
    try:  # makes the rename itself durable; not supported everywhere (Windows)
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _unlink(path: str | Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
