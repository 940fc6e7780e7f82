"""Atomic file writes: the one place that writes a temp file beside the target, fsyncs it and renames it over."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch

TEMP_PREFIX = ".tmp-"  # temp files of interrupted writes start with this and are cleaned up on the next start


def write_with(path: str | Path, write: Callable[[IO[bytes]], Any], durable: bool = True) -> Path:
    """Call write(f) on a temp file in path's folder, flush (and fsync, when durable) it, then os.replace it over path.

    Readers see the old file or the new one, never half of one; on any failure the temp file is removed and the old
    file is untouched. An OSError without a file name is re-raised naming path (a full disk names what it wrote).
    durable=False skips both fsyncs: for files rewritten soon anyway (grids, heartbeats), which a crash may leave at
    an older version or empty; checkpoints and a run's final meta stay durable.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows
        if durable:
            fsync_dir(path.parent)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and e.filename is None:
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise
    return path


def write_atomic(path: str | Path, data: bytes, durable: bool = True) -> Path:
    """Write bytes to path atomically (see write_with)."""
    return write_with(path, lambda f: f.write(data), durable)


def save_atomic(obj: Any, path: str | Path) -> Path:
    """torch.save obj to path atomically (see write_with); load it back with weights_only=True."""
    return write_with(path, lambda f: torch.save(obj, f))


def fsync_dir(folder: Path) -> None:
    """Make a rename in folder durable; silently skipped where directories cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
