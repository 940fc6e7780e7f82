"""Registry of data sets by name; every loader returns an ImageData (uint8 N x C x H x W + labels)."""

from __future__ import annotations

from collections.abc import Callable

from ..config import DataConfig
from .base import ImageData, Progress, conform, data_root, to_float, to_uint8
from .celeba import load_celeba
from .cifar10 import load_cifar10
from .folder import load_folder
from .mnist import load_fashion_mnist, load_mnist
from .shapes import load_shapes

Loader = Callable[[DataConfig, "Progress | None"], ImageData]

# name -> (one-line description, loader)
DATASETS: dict[str, tuple[str, Loader]] = {
    "shapes": ("Synthetic triangles, squares and circles drawn locally; needs no network (default).", load_shapes),
    "mnist": ("Handwritten digits 0-9, 28 x 28 grayscale, 10 classes (local IDX files or download).", load_mnist),
    "fashion_mnist": ("Clothing in 10 classes, 28 x 28 grayscale (local IDX files or download).", load_fashion_mnist),
    "cifar10": ("Small color photos in 10 classes, 32 x 32 RGB (local python batches or download).", load_cifar10),
    "celeba": (
        "Celebrity faces, cropped square, 64 x 64 RGB by default (local folder or img_align_celeba.zip).", load_celeba
    ),
    "folder": ("Your own images from a folder or .zip (png, jpg, webp, bmp, gif), cropped square.", load_folder),
}


def load_dataset(cfg: DataConfig, progress: Progress | None = None) -> ImageData:
    """Load cfg.name, then resize to cfg.image_size, convert to cfg.channels and cap at cfg.max_images."""
    cfg.validate()
    _, loader = DATASETS[cfg.name]
    data = loader(cfg, progress)
    if cfg.max_images is not None and len(data) > cfg.max_images:
        data.images = data.images[: cfg.max_images]
        data.labels = None if data.labels is None else data.labels[: cfg.max_images]
    data.images = conform(data.images, cfg.image_size, cfg.channels)
    if progress is not None:
        progress(1.0, f"Loaded {len(data)} images of {data.shape}")
    return data


__all__ = ["DATASETS", "ImageData", "Progress", "conform", "data_root", "load_dataset", "to_float", "to_uint8"]
