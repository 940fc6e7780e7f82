"""Registry of data sets by name; every loader returns an ImageData (uint8 N x C x H x W + labels)."""

from __future__ import annotations

from collections.abc import Callable

from ..catalog import DATASETS, POINT_DATASETS
from ..config import DataConfig
from .base import STATS_CACHE, ImageData, Progress, conform, data_root, to_float, to_uint8

Loader = Callable[[DataConfig, "Progress | None"], ImageData]


def load_dataset(cfg: DataConfig, progress: Progress | None = None) -> ImageData:
    """Load cfg.name, then resize to cfg.image_size, convert to cfg.channels and cap at cfg.max_images."""
    cfg.validate()
    data = DATASETS[cfg.name].load(cfg, progress)
    if cfg.max_images is not None and len(data) > cfg.max_images:
        data.images = data.images[: cfg.max_images]
        data.labels = None if data.labels is None else data.labels[: cfg.max_images]
    if DATASETS[cfg.name].points:  # coordinates, not pixels: nothing to resize
        return data
    data.images = conform(data.images, cfg.image_size, cfg.channels)
    if progress is not None:
        progress(1.0, f"Loaded {len(data)} images of {data.shape}")
    return data


__all__ = ["DATASETS", "POINT_DATASETS", "STATS_CACHE", "ImageData", "Progress", "conform", "data_root", "load_dataset",
           "to_float", "to_uint8"]
