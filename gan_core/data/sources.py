"""Shared plumbing for the torchvision-style sets: where to look for local files, and the optional download."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.error import URLError

from ..config import DataConfig
from ..errors import DataError
from .base import Progress, data_root


def user_dir(cfg: DataConfig) -> Path | None:
    """cfg.data_dir as a Path, or None; a folder the user named that does not exist is their mistake to fix."""
    if not cfg.data_dir:
        return None
    path = Path(cfg.data_dir).expanduser()
    if not path.exists():
        raise DataError(f"The folder {path} does not exist: check its name, or leave the folder box empty.",
                        cli=f"The data folder {path} does not exist: check the path given to --data-dir.")
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
    before = folders_under(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        fetch(root)
    except Exception as exc:  # URLError, OSError, RuntimeError (bad checksum), ValueError, ...: all "no download"
        remove_new_empty_folders(root, before)  # not listed as "MNIST — empty" on the Data page afterwards
        raise DownloadFailed(download_problem(exc)) from exc
    return root


def folders_under(root: Path, depth: int = 3) -> set[Path]:
    """The folders under root, down to depth levels (what a download or an install may add)."""
    found: set[Path] = set()
    level = [root] if root.is_dir() else []
    for _ in range(depth):
        level = [p for folder in level for p in folder.iterdir() if p.is_dir() and not p.is_symlink()]
        found.update(level)
    return found


def remove_new_empty_folders(root: Path, before: set[Path]) -> None:
    """Remove the empty folders under root that were not in `before`, deepest first (a failed download's leftovers)."""
    for folder in sorted(folders_under(root) - before, key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()  # only when empty
        except OSError:
            pass


class DownloadFailed(Exception):
    """Internal: the download did not work (the message is download_problem's plain phrase)."""


def download_problem(exc: BaseException) -> str:
    """Why a download failed, in plain words; the exception's own text (urllib's, torchvision's) is for logs."""
    chain: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and e not in chain:  # torchvision wraps urllib's error in a RuntimeError
        chain.append(e)
        e = e.__cause__ or e.__context__
    if any(isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT) for e in chain):
        return "the disk is full"
    text = " ".join(str(e) for e in chain)
    network = (URLError, ConnectionError, TimeoutError, socket.gaierror, socket.timeout)
    if any(isinstance(e, network) for e in chain) or "urlopen error" in text or "Error downloading" in text:
        return "no network connection?"
    if "corrupted" in text or "checksum" in text.lower() or "MD5" in text:
        return "the downloaded file was damaged; try again later"
    return "the download did not finish"


def missing_error(title: str, files: str, folder: Path, cfg: DataConfig, dirs: Sequence[Path],
                  problem: str | None) -> DataError:
    """The DataError for 'no local files and no download': what is missing and the two ways to get it.

    files: the file names in words; folder: the plain folder under the data root the loader looks in;
    problem: download_problem's phrase, or None when downloading is off.
    """
    where = f" in {Path(cfg.data_dir).expanduser()}" if cfg.data_dir else ""
    why = f"could not be downloaded ({problem})" if problem else f"was not found{where} and downloading is off"
    return DataError(
        f"{title} {why}. To use it, put {files} in the folder {folder}, or upload them on the Data page.",
        cli=f"{title} files not found ({f'the download failed: {problem}' if problem else 'download is off'}): "
            f"expected {files} in one of {format_dirs(dirs)}. Put these files in {folder} or pass their folder "
            f"with --data-dir.",
    )
