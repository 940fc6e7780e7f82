"""Files the user brings: uploaded MNIST, Fashion-MNIST and CIFAR-10 files put where their loaders look, and the
data folders found under the data root."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from ..errors import DataError
from ..fileio import TEMP_PREFIX
from .base import CACHES, data_root
from .cifar10 import ARCHIVE, FOLDER, TEST_BATCH, TRAIN_BATCHES, find_batches, read_batch
from .mnist import FASHION, IMAGES_MAGIC, LABELS_MAGIC, MNIST, SPLIT_FILES, _candidates, find_split, read_idx
from .uploads import safe_name

MAX_MEMBER_BYTES = 256 * 2**20  # a CIFAR batch is 31 MB, an MNIST file 47 MB: far bigger is not one
CIFAR_FILES = (*TRAIN_BATCHES, TEST_BATCH)
COUNT_CAP = 10_000  # entries counted in an unknown folder
_IDX_SETS = {"mnist": MNIST, "fashion_mnist": FASHION}
INSTALLABLE = ("mnist", "fashion_mnist", "cifar10")  # the sets whose files can be uploaded


def install_folder(name: str, root: Path | None = None) -> Path:
    """The folder under the data root where uploaded files of set `name` go (one the loader searches)."""
    root = root if root is not None else data_root()
    return root / (FOLDER if name == "cifar10" else _IDX_SETS[name].subdirs[-1])


def expected_files(name: str) -> str:
    """The files set `name` is made of, in words for the uploader's help."""
    if name == "cifar10":
        return f"{ARCHIVE} (or its data_batch_1 ... data_batch_5 and test_batch files)"
    names = [stem + ".gz" for pair in SPLIT_FILES.values() for stem in pair]
    return ", ".join(names) + " (a .zip or .tar.gz of them works too)"


def _idx_target(name: str) -> tuple[str, int] | None:
    """(canonical stem, magic) of an MNIST-style file name (plain, .gz, or Kaggle's dotted spelling), else None."""
    for pair in SPLIT_FILES.values():
        for stem in pair:
            if name in _candidates(stem):
                return stem, IMAGES_MAGIC if "images" in stem else LABELS_MAGIC
    return None


def _members(name: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    """(base name, bytes) of the regular files inside an uploaded .zip or .tar(.gz), else the upload itself.

    Only base names come out (no folders, so no path can escape) and no member may unpack to more than
    MAX_MEMBER_BYTES; links, devices and folders are skipped.
    """
    lower = name.lower()
    try:
        if lower.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    if not info.is_dir() and info.file_size <= MAX_MEMBER_BYTES:
                        yield safe_name(info.filename), zf.read(info)
        elif lower.endswith((".tar.gz", ".tgz", ".tar")):
            with tarfile.open(fileobj=io.BytesIO(data)) as tf:
                for member in tf:
                    if member.isfile() and member.size <= MAX_MEMBER_BYTES:
                        f = tf.extractfile(member)
                        if f is not None:
                            yield safe_name(member.name), f.read()
        else:
            yield safe_name(name), data
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(f"{name} is not a readable archive: upload the original file again.") from exc


def install_files(name: str, files: list[tuple[str, bytes]], root: Path | None = None) -> list[str]:
    """Check uploaded files of set `name` and put them where its loader looks (install_folder); return their names.

    Each file is checked in a hidden temp file first (IDX headers, CIFAR batches unpickled safely), so a bad upload
    never replaces a good file; messages name the upload as the user named it.
    """
    folder = install_folder(name, root)
    installed: list[str] = []
    for upload, data in files:
        for member, content in _members(upload, data):
            shown = upload if member == safe_name(upload) else f"{member} in {upload}"
            if name == "cifar10":
                if member not in CIFAR_FILES:
                    continue  # batches.meta, readme.html: not needed
                _install(folder, member, content, shown, read_batch)
            else:
                target = _idx_target(member)
                if target is None:
                    continue
                stem, magic = target
                final = stem + (".gz" if content[:2] == b"\x1f\x8b" else "")
                for other in _candidates(stem):  # the loader takes the first spelling it finds: leave only this one
                    if other != final:
                        (folder / other).unlink(missing_ok=True)
                _install(folder, final, content, shown, lambda p, m=magic: read_idx(p, m))
            installed.append(member)
    if not installed:
        title = "CIFAR-10" if name == "cifar10" else _IDX_SETS[name].title
        raise DataError(f"None of the uploaded files is a {title} file: upload {expected_files(name)}.")
    return installed


def _install(folder: Path, final: str, content: bytes, shown: str, check: Callable[[Path], object]) -> None:
    new = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{TEMP_PREFIX}{final}"
    try:
        tmp.write_bytes(content)
        try:
            check(tmp)
        except DataError as exc:
            raise DataError(str(exc).replace(str(tmp), shown)) from exc
        os.replace(tmp, folder / final)
    finally:
        tmp.unlink(missing_ok=True)
        if new and not any(folder.iterdir()):  # a refused upload leaves no empty folder ("CIFAR-10 — empty")
            folder.rmdir()


@dataclass
class DataFolder:
    """A folder under the data root and what it holds, in words."""

    name: str
    path: Path
    holds: str


def _idx_state(spec_title: str, dirs: list[Path]) -> str | None:
    if find_split(dirs, "train") is not None:
        return f"{spec_title}, ready (training split)"
    if find_split(dirs, "test") is not None:
        return f"{spec_title}, ready (test split only)"
    return None


def data_folders(root: Path | None = None) -> list[DataFolder]:
    """Every visible folder under the data root, with the data set it holds when it is one the app reads."""
    root = root if root is not None else data_root()
    if not root.is_dir():
        return []
    known: dict[str, str | None] = {}
    for spec in (MNIST, FASHION):
        for sub in spec.subdirs:
            top = sub.split("/")[0]
            known[top] = known.get(top) or _idx_state(spec.title, [root / sub])
    batches = find_batches([root / FOLDER])
    if batches is not None:
        known[FOLDER] = f"CIFAR-10, ready ({'training' if batches[1] == 'train' else 'test'} batches)"
    else:
        known[FOLDER] = None
    out = []
    for path in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if path.name in ("celeba", "img_align_celeba"):
            holds = "CelebA faces (choose CelebA above)"
        elif path.name in CACHES:
            files = sum(1 for p in islice(path.iterdir(), COUNT_CAP) if p.is_file())
            holds = (f"the app's cache of {CACHES[path.name]} ({files:,} {'file' if files == 1 else 'files'}; "
                     "made again when needed)")
        elif path.name == "uploads":
            holds = f"your uploaded images ({sum(1 for _ in path.glob('*/*') if _.is_dir())} uploads)"
        elif known.get(path.name):
            holds = str(known[path.name])
        elif path.name in known:  # a set's folder without a usable split (a failed download leaves it empty)
            holds = "incomplete: some files are missing" if any(p.is_file() for p in path.rglob("*")) else "empty"
        else:
            count = sum(1 for _ in islice(path.rglob("*"), COUNT_CAP))  # a huge folder must not slow the page
            holds = f"{count:,}{'+' if count >= COUNT_CAP else ''} {'entry' if count == 1 else 'entries'}"
        out.append(DataFolder(path.name, path, holds))
    return out
