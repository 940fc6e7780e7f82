"""MNIST and Fashion-MNIST from local IDX files (gzipped or not), with torchvision's download as a fallback."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from ..config import DataConfig
from ..errors import DataError
from .base import ImageData, Progress, data_root
from .sources import DownloadFailed, download, format_dirs, missing_error, search_dirs, split_notice

IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
MAX_ITEMS = 2_000_000  # far above any MNIST-like set; stops a corrupt header from asking for terabytes
SIDE = 28

SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

MNIST_CLASSES = [str(i) for i in range(10)]
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]


@dataclass(frozen=True)
class _Set:
    name: str
    title: str
    subdirs: tuple[str, ...]  # torchvision's layout first, then a plain folder under the data root
    torchvision_class: str
    class_names: list[str]


MNIST = _Set("mnist", "MNIST", ("MNIST/raw", "mnist"), "MNIST", MNIST_CLASSES)
FASHION = _Set("fashion_mnist", "Fashion-MNIST", ("FashionMNIST/raw", "fashion_mnist"), "FashionMNIST", FASHION_CLASSES)


def _candidates(stem: str) -> list[str]:
    # Kaggle mirrors spell the names with a dot ("train-images.idx3-ubyte"); accept both, gzipped or not.
    dotted = stem.replace("-idx", ".idx")
    return [stem, stem + ".gz", dotted, dotted + ".gz"]


def find_file(folder: Path, stem: str) -> Path | None:
    """The first existing file in folder named like stem (plain or .gz), or None."""
    for name in _candidates(stem):
        if (folder / name).is_file():
            return folder / name
    return None


def find_split(dirs: list[Path], split: str) -> tuple[Path, Path] | None:
    """(images, labels) of a split from the first folder that holds both, or None."""
    images_stem, labels_stem = SPLIT_FILES[split]
    for folder in dirs:
        images, labels = find_file(folder, images_stem), find_file(folder, labels_stem)
        if images is not None and labels is not None:
            return images, labels
    return None


def _open(path: Path) -> BinaryIO:
    # The gzip magic bytes decide, not the name: people gunzip files and keep ".gz", or the reverse.
    with open(path, "rb") as f:
        head = f.read(2)
    return gzip.open(path, "rb") if head == b"\x1f\x8b" else open(path, "rb")  # type: ignore[return-value]


def _bad(path: Path, what: str) -> DataError:
    return DataError(f"{path} is not a valid IDX file ({what}): replace it with a fresh copy of the original file.")


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse an IDX file of unsigned bytes: images (magic 2051, N x 28 x 28) or labels (magic 2049, N)."""
    ndim = 3 if magic == IMAGES_MAGIC else 1
    try:
        with _open(path) as f:
            header = f.read(4 + 4 * ndim)
            if len(header) < 4 + 4 * ndim:
                raise _bad(path, "the header is cut short")
            found = int.from_bytes(header[:4], "big")
            if found != magic:
                kind = "images" if magic == IMAGES_MAGIC else "labels"
                raise _bad(path, f"magic number {found}, expected {magic} for {kind}")
            dims = [int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
            if dims[0] > MAX_ITEMS:
                raise _bad(path, f"the header claims {dims[0]:,} items")
            if ndim == 3 and dims[1:] != [SIDE, SIDE]:
                raise _bad(path, f"images are {dims[1]}x{dims[2]}, expected {SIDE}x{SIDE}")
            expected = int(np.prod(dims))
            # Read one byte more than needed so that trailing garbage is noticed, never more than that.
            body = f.read(expected + 1)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError; a cut gzip stream raises EOFError
        # Plain words: the exception's name and text (BadGzipFile, "Compressed file ended...") mean nothing to users.
        raise _bad(path, "the file cannot be read" if isinstance(exc, OSError) and not isinstance(exc, gzip.BadGzipFile)
                   else "its compressed data is damaged or cut short") from exc
    if len(body) < expected:
        raise _bad(path, f"it holds {len(body):,} bytes of data, the header promises {expected:,}; "
                         "the file is truncated")
    if len(body) > expected:
        raise _bad(path, "there is data after the last item")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def read_split(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N x 28 x 28 uint8) and labels (N int64) of one split, checked against each other."""
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{images_path} has {images.shape[0]:,} images but {labels_path} has {labels.shape[0]:,} labels: "
            "use the two files of the same split (train-* together, t10k-* together)."
        )
    if labels.size and int(labels.max()) > 9:
        raise _bad(labels_path, f"label {int(labels.max())} is outside 0-9")
    return images, labels.astype(np.int64)


def _load(spec: _Set, cfg: DataConfig, progress: Progress | None) -> ImageData:
    dirs = search_dirs(cfg, spec.subdirs)
    notices: list[str] = []
    found = find_split(dirs, "train")
    split = "train"
    if found is None:
        found, split = find_split(dirs, "test"), "test"
    if found is None:
        files = "{}.gz and {}.gz (or the t10k-* test pair)".format(*SPLIT_FILES["train"])
        folder = data_root() / spec.subdirs[-1]
        if not cfg.download:
            raise missing_error(spec.title, files, folder, cfg, dirs, None)

        def fetch(root: Path) -> object:
            import torchvision.datasets as tvd  # imported here: slow, and only the download needs it

            return getattr(tvd, spec.torchvision_class)(root=str(root), train=True, download=True)

        try:
            root = download(spec.title, fetch, progress, "about 12 MB")
        except DownloadFailed as exc:
            raise missing_error(spec.title, files, folder, cfg, dirs, str(exc)) from exc
        dirs = [root / spec.subdirs[0]]
        found, split = find_split(dirs, "train"), "train"
        if found is None:
            raise DataError(f"The {spec.title} download finished but its files are not in {format_dirs(dirs)}: "
                            "delete that folder and try again.")
        notices.append(f"Downloaded {spec.title} into {root}.")
    if progress is not None:
        progress(0.5, f"Reading {found[0].name}")
    images, labels = read_split(*found)
    if split == "test":
        notices.append(split_notice(len(images), dirs))
    tensor = torch.from_numpy(images.copy()).unsqueeze(1).contiguous()  # N x 1 x 28 x 28; copy: frombuffer is read-only
    return ImageData(tensor, torch.from_numpy(labels), list(spec.class_names), spec.name, notices)


def load_mnist(cfg: DataConfig, progress: Progress | None = None) -> ImageData:
    """Handwritten digits 0-9, 1 x 28 x 28, from local IDX files or torchvision's download."""
    return _load(MNIST, cfg, progress)


def load_fashion_mnist(cfg: DataConfig, progress: Progress | None = None) -> ImageData:
    """Zalando's clothing images in 10 classes, 1 x 28 x 28, from local IDX files or torchvision's download."""
    return _load(FASHION, cfg, progress)
