"""Checkpoint files: atomic save, safe load (weights_only=True), validation, and the newest valid one of a run."""

from __future__ import annotations

import pickle
import stat
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..config import RunConfig
from ..errors import CheckpointError, ConfigError, TrainingError, file_problem
from ..fileio import TEMP_PREFIX, save_atomic
from .liveness import written_elsewhere

CHECKPOINT_SUFFIX = ".pt"
REQUIRED_KEYS = ("format_version", "config", "image_shape", "step", "G", "D")


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write state atomically (fileio.save_atomic): readers see the old file or the new one, and the old file survives
    any failure. An OSError (a full disk) becomes a TrainingError that says what to do."""
    path = Path(path)
    try:
        return save_atomic(state, path)
    except OSError as e:  # full, over quota, read-only, no permission: plain words, never the raw text
        raise TrainingError(f"Could not save checkpoint {path}: {file_problem(e)}. Free some space or fix the folder "
                            "(or choose another checkpoints folder); the previous checkpoint is untouched.") from e


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


def find_checkpoints(run_dir: str | Path) -> list[Path]:
    """Checkpoint files of a run, newest first (by modification time, then name); temp files excluded."""
    found = []  # (mtime ns, name, path)
    for p in Path(run_dir).glob(f"*{CHECKPOINT_SUFFIX}"):
        if p.name.startswith(TEMP_PREFIX):
            continue
        try:  # one look per file: a run saving now removes its oldest checkpoints (RunFolder.keep) at any moment
            info = p.stat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode):
            found.append((info.st_mtime_ns, p.name, p))
    return [p for *_, p in sorted(found, reverse=True)]


def latest_valid_checkpoint(run_dir: str | Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint of run_dir that loads and validates, with its state; None when there is none."""
    for path in find_checkpoints(run_dir):
        try:
            return path, load_checkpoint(path)
        except CheckpointError:
            continue
    return None


def clean_temp_files(root: str | Path) -> list[Path]:
    """Remove leftover temp files of interrupted saves under root; returns what was removed. Run folders (root's
    subfolders) that another live process trains in are left alone: their temp files are saves in progress."""
    root = Path(root)
    busy: dict[Path, bool] = {}
    removed = []
    for p in root.rglob(f"{TEMP_PREFIX}*"):
        parts = p.relative_to(root).parts
        if len(parts) > 1:
            run = root / parts[0]
            if run not in busy:  # read each run's meta.json once, not once per temp file
                busy[run] = written_elsewhere(run)
            if busy[run]:
                continue
        if p.is_file() and not p.is_symlink():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed
