"""The common shape of every data set: one uint8 image tensor (N x C x H x W) plus optional labels."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

DATA_ENV = "GAN_WORKBENCH_DATA"
# Image sides every architecture builds (28 = 7 x 2^2, the others 4 x 2^k); "native" sizes round to one of these.
SUPPORTED_SIZES = (28, 32, 64, 128)
POINT_SHAPE = (2, 1, 1)  # a 2-D point as an 'image': 2 channels of 1 pixel

# progress(fraction in [0, 1], message) — long loads (downloads, folder scans) report through this.
Progress = Callable[[float, str], None]


@dataclass
class ImageData:
    """A whole data set in memory, ready to be moved to the training device in one piece."""

    images: torch.Tensor  # uint8, N x C x H x W, contiguous; 2-D point sets: float32 N x 2 x 1 x 1 coordinates
    labels: torch.Tensor | None = None  # int64, N (None for unlabeled sets)
    class_names: list[str] | None = None
    name: str = ""
    notices: list[str] = field(default_factory=list)  # things the user should know (test split used, files skipped)
    modes: torch.Tensor | None = None  # point sets of Gaussian modes: K x 2 centres (the 2-D metrics score these)
    mode_std: float = 0.0  # their standard deviation

    def __post_init__(self) -> None:
        assert self.images.dim() == 4, self.images.shape
        assert self.images.dtype == torch.uint8 or (self.is_points and self.images.dtype == torch.float32), \
            (self.images.dtype, self.images.shape)
        if self.labels is not None:
            assert self.labels.shape == (self.images.shape[0],), (self.labels.shape, self.images.shape)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    @property
    def is_points(self) -> bool:
        """A 2-D point set (N x 2 x 1 x 1 float coordinates) rather than images."""
        return tuple(self.images.shape[1:]) == POINT_SHAPE

    @property
    def points(self) -> torch.Tensor:
        """N x 2 coordinates of a point set."""
        assert self.is_points
        return self.images.reshape(-1, 2)

    @property
    def num_classes(self) -> int:
        return 0 if self.labels is None else len(self.class_names or []) or int(self.labels.max()) + 1

    def __len__(self) -> int:
        return int(self.images.shape[0])


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1] (same shape), the range the generators' Tanh produces; float data (2-D
    points) are coordinates already and pass through."""
    if images.is_floating_point():
        return images.float()
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255] (same shape), clamped."""
    return ((images.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)


def conform(images: torch.Tensor, size: int | None, channels: int | None) -> torch.Tensor:
    """Resize (area/bilinear, square) and convert channels of a uint8 N x C x H x W batch."""
    assert images.dtype == torch.uint8 and images.dim() == 4
    if channels is not None and images.shape[1] != channels:
        if channels == 1:  # ITU-R 601 luma, as PIL's "L" conversion
            w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            images = (images.float() * w).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
        else:
            images = images.expand(-1, 3, -1, -1)
    if size is not None and (images.shape[2] != size or images.shape[3] != size):
        chunks = []
        for chunk in images.split(2048):  # bounded memory for big sets
            x = chunk.float()
            mode = "area" if size < chunk.shape[2] else "bilinear"
            y = F.interpolate(x, size=(size, size), mode=mode, **({} if mode == "area" else {"align_corners": False}))
            chunks.append(y.round().clamp(0, 255).to(torch.uint8))
        images = torch.cat(chunks)
    return images.contiguous()


def nearest_size(side: int) -> int:
    """The supported size nearest to side on a log scale (halving and doubling are equally far); ties go up."""
    return min(SUPPORTED_SIZES, key=lambda s: (abs(math.log(s / max(side, 1))), -s))


# The app's own caches under the data root (content-keyed files, rebuilt when missing): folder -> what it holds.
SHAPES_CACHE, STATS_CACHE = "shapes", "stats"
CACHES = {SHAPES_CACHE: "drawn shapes", STATS_CACHE: "the quality score's real statistics and classifiers"}


def data_root() -> Path:
    """Where downloads go and local sets are looked for: $GAN_WORKBENCH_DATA, else <repo>/data (git-ignored)."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / "data"
