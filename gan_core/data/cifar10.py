"""CIFAR-10 from the python pickle batches, unpickled with an allowlist so a tampered file cannot run code."""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import DataConfig
from ..errors import DataError
from .base import ImageData, Progress, data_root
from .sources import DownloadFailed, download, format_dirs, missing_error, search_dirs, split_notice

FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"  # the official archive: FOLDER/data_batch_1..5, test_batch, batches.meta
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _numpy_attr(modules: tuple[str, ...], name: str) -> Any:
    # numpy 2 moved numpy.core to numpy._core; resolve whichever exists without importing the deprecated alias.
    for module in modules:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"numpy has no {name}")


def _latin1_encode(text: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    # Python 3 writes bytes in protocol-2 pickles as _codecs.encode(str, "latin1"); allow exactly that call.
    if not isinstance(text, str) or encoding != "latin1" or errors != "strict":
        raise pickle.UnpicklingError("refused _codecs.encode with unexpected arguments")
    return text.encode("latin1")


_RECONSTRUCT = _numpy_attr(("numpy._core.multiarray", "numpy.core.multiarray"), "_reconstruct")
_FROMBUFFER = _numpy_attr(("numpy._core.numeric", "numpy.core.numeric"), "_frombuffer")

# Everything a CIFAR batch needs (dicts, bytes, lists and ints are built-in opcodes, not globals):
# numpy arrays as written by protocol 2-4 (_reconstruct + ndarray + dtype) or protocol 5 (_frombuffer).
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle asked for a callable outside ALLOWED_GLOBALS."""


class SafeUnpickler(pickle.Unpickler):
    """Unpickler whose find_class only hands out the numpy pieces above; anything else is refused unrun."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"{module}.{name}") from None


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N x 3 x 32 x 32 uint8) and labels (N int64) of one CIFAR-10 batch file, validated."""
    try:
        with open(path, "rb") as f:
            # encoding="bytes": the original files were written by Python 2, whose str must stay bytes.
            batch = SafeUnpickler(f, encoding="bytes").load()
    except RefusedGlobal as exc:
        raise DataError(
            f"{path} is not a plain CIFAR-10 batch (it holds code that would run when loaded: refused for safety): "
            "replace it with the original file from the CIFAR-10 python archive."
        ) from exc
    except Exception as exc:  # UnpicklingError, EOFError, ValueError, MemoryError...: all "not a usable batch"
        raise DataError(f"{path} is not a readable CIFAR-10 batch (it is damaged, cut short or another kind of file): "
                        "replace it with the original file.") from exc
    if not isinstance(batch, dict):
        raise DataError(f"{path} does not hold a CIFAR-10 batch (a dict): replace it with the original file.")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"{path} has no N x 3072 uint8 'data' array: it is not a CIFAR-10 batch; "
                        "replace it with the original file.")
    try:
        label_array = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path} has unreadable 'labels': replace it with the original file.") from exc
    in_range = not label_array.size or 0 <= label_array.min() <= label_array.max() <= 9
    if label_array.shape != (data.shape[0],) or not in_range:
        raise DataError(f"{path} needs one label in 0-9 per image: replace it with the original file.")
    return data.reshape(-1, 3, 32, 32), label_array  # rows are stored R plane, G plane, B plane


def find_batches(dirs: list[Path]) -> tuple[list[Path], str] | None:
    """(batch files, 'train' or 'test') from the first folder that has training batches, else a test batch."""
    for folder in dirs:
        train = [folder / n for n in TRAIN_BATCHES if (folder / n).is_file()]
        if train:
            return train, "train"
    for folder in dirs:
        if (folder / TEST_BATCH).is_file():
            return [folder / TEST_BATCH], "test"
    return None


def load_cifar10(cfg: DataConfig, progress: Progress | None = None) -> ImageData:
    """CIFAR-10: 60,000 3 x 32 x 32 photos in 10 classes, from local batches or torchvision's download."""
    dirs = search_dirs(cfg, (FOLDER,))
    notices: list[str] = []
    found = find_batches(dirs)
    if found is None:
        files = f"the data_batch_1 ... data_batch_5 files of {ARCHIVE}"
        folder = data_root() / FOLDER
        if not cfg.download:
            raise missing_error("CIFAR-10", files, folder, cfg, dirs, None)

        def fetch(root: Path) -> object:
            import torchvision.datasets as tvd  # imported here: slow, and only the download needs it

            return tvd.CIFAR10(root=str(root), train=True, download=True)

        try:
            root = download("CIFAR-10", fetch, progress, "about 170 MB")
        except DownloadFailed as exc:
            raise missing_error("CIFAR-10", files, folder, cfg, dirs, str(exc)) from exc
        dirs = [root / FOLDER]
        found = find_batches(dirs)
        if found is None:
            raise DataError(f"The CIFAR-10 download finished but its batches are not in {format_dirs(dirs)}: "
                            "delete that folder and try again.")
        notices.append(f"Downloaded CIFAR-10 into {root}.")
    files, split = found
    images, labels = [], []
    for i, path in enumerate(files):
        if progress is not None:
            progress(i / len(files), f"Reading {path.name}")
        x, y = read_batch(path)
        images.append(x)
        labels.append(y)
    if split == "train" and len(files) < len(TRAIN_BATCHES):
        notices.append(f"Only {len(files)} of {len(TRAIN_BATCHES)} training batches were found in {files[0].parent}.")
    all_images = np.concatenate(images)
    if split == "test":
        notices.append(split_notice(len(all_images), dirs))
    return ImageData(torch.from_numpy(all_images).contiguous(), torch.from_numpy(np.concatenate(labels)), list(CLASSES),
                     "cifar10", notices)
