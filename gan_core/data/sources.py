"""Shared plumbing for the torchvision-style sets: where to look for local files, and the optional download."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ..config import DataConfig
from ..errors import DataError
from .base import Progress, data_root


def user_dir(cfg: DataConfig) -> Path | None:
    """cfg.data_dir as a Path, or None; a folder the user named that does not exist is their mistake to fix."""
    if not cfg.data_dir:
        return None
    path = Path(cfg.data_dir).expanduser()
    if not path.exists():
        raise DataError(f"The data folder {path} does not exist: check the path given to --data-dir (or the Data page's folder box).")
    return path


def search_dirs(cfg: DataConfig, subdirs: Sequence[str]) -> list[Path]:
    """Folders to look in, in order: data_dir itself, data_dir/<subdir>..., then <data root>/<subdir>...

    The data root itself is not searched: MNIST and Fashion-MNIST use the same file names, so only their
    own sub-folders (torchvision's layout) can tell them apart there.
    """
    dirs: list[Path] = []
    given = user_dir(cfg)
    if given is not None and given.is_dir():
        dirs.append(given)
        dirs.extend(given / s for s in subdirs)
    root = data_root()
    dirs.extend(root / s for s in subdirs)
    unique: list[Path] = []
    for d in dirs:  # keep order, drop repeats (data_dir may be the data root)
        if d not in unique:
            unique.append(d)
    return unique


def format_dirs(dirs: Sequence[Path]) -> str:
    return ", ".join(str(d) for d in dirs)


def split_notice(count: int, dirs: Sequence[Path]) -> str:
    """The notice shown when only the test split could be found."""
    existing = [d for d in dirs if d.is_dir()] or list(dirs)  # name the folders that exist, not every guess
    return f"Using the {count:,}-image test split: the training files were not found in {format_dirs(existing)}."


def download(title: str, fetch: Callable[[Path], object], progress: Progress | None, size_hint: str) -> Path:
    """Run fetch(root) (a torchvision constructor with download=True) into the data root; return the root.

    Any failure (no network, proxy, full disk, checksum mismatch) means the same thing to the user, so all
    ordinary exceptions become DownloadFailed, which the loader turns into a DataError that says what to do.
    """
    root = data_root()
    if progress is not None:
        progress(0.0, f"Downloading {title} into {root} ({size_hint})")
    try:
        root.mkdir(parents=True, exist_ok=True)
        fetch(root)
    except Exception as exc:  # URLError, OSError, RuntimeError (bad checksum), ValueError, ...: all "no download"
        raise DownloadFailed(f"{type(exc).__name__}: {exc}") from exc
    return root


class DownloadFailed(Exception):
    """Internal: the download did not work; the loader turns this into a DataError with the fix."""


def missing_error(title: str, expected: str, dirs: Sequence[Path], why_no_download: str) -> DataError:
    """The DataError for 'no local files and no download': names the files, the folders and the fix."""
    return DataError(
        f"{title} files not found ({why_no_download}): expected {expected} in one of "
        f"{format_dirs(dirs)}. Put these files in a folder and pass it with --data-dir "
        f"(or the Data page's folder box)."
    )
