"""Stacked MNIST (VEEGAN, PacGAN): three MNIST digits as the R, G and B channels, 1,000 modes."""

from __future__ import annotations

import dataclasses

import torch

from ..config import DataConfig
from .base import ImageData, Progress
from .mnist import load_mnist

STACKED_MODES = 1000  # 10 digits in each of 3 channels
STACKED_NAME = "stacked_mnist"  # ImageData.name of a stacked set (the registry's name)


def stack_digits(images: torch.Tensor, labels: torch.Tensor, n: int, seed: int) -> ImageData:
    """n RGB images (uint8 n x 3 x H x W) whose channels are three digits drawn at random from images
    (uint8 N x 1 x H x W, labels N); label = 100 * red digit + 10 * green digit + blue digit."""
    assert images.dim() == 4 and images.shape[1] == 1 and labels.shape == (images.shape[0],)
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(images.shape[0], (n, 3), generator=gen)  # n x 3 source digits (R, G, B)
    stacked = images[idx.flatten(), 0].reshape(n, 3, *images.shape[2:]).contiguous()  # n x 3 x H x W
    digits = labels[idx]  # n x 3
    return ImageData(stacked, digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2], None, STACKED_NAME)


def is_stacked(data: ImageData) -> bool:
    """Whether a loaded set is stacked MNIST with its three digit channels (not converted to grey)."""
    return data.name == STACKED_NAME and data.shape[0] == 3 and data.labels is not None


def channel_digits(labels: torch.Tensor) -> torch.Tensor:
    """int64 N stacked labels (100 R + 10 G + B) -> int64 N x 3 digits (R, G, B)."""
    return torch.stack([labels // 100, labels // 10 % 10, labels % 10], 1)


def digit_index(stacked: ImageData) -> tuple[torch.Tensor, torch.Tensor]:
    """(the distinct one-channel digits a stacked set is made of, uint8 M x 1 x H x W; for each image's channels,
    which of them it holds: int64 N x 3)."""
    assert stacked.shape[0] == 3, stacked.shape
    n, (_, h, w) = len(stacked), stacked.shape
    digits = stacked.images.transpose(0, 1).reshape(3 * n, h * w)  # all R channels, then G, then B: 3N x HW
    unique, inverse = torch.unique(digits, dim=0, return_inverse=True)  # M x HW (sorted rows), 3N indices into them
    return unique.reshape(-1, 1, h, w), inverse.view(3, n).t()


def distinct_digits(stacked: ImageData) -> ImageData:
    """The distinct one-channel digits a stacked set is made of (uint8 M x 1 x H x W) with their labels: each
    source digit once, whichever channels it was drawn into, so a held-out digit was never trained on."""
    assert stacked.labels is not None
    unique, index = digit_index(stacked)  # M x 1 x H x W, N x 3
    labels = torch.empty(len(unique), dtype=torch.int64).scatter_(0, index.flatten(),
                                                                  channel_digits(stacked.labels).flatten())
    return ImageData(unique, labels, None, "mnist")


def load_stacked_mnist(cfg: DataConfig, progress: Progress | None = None) -> ImageData:
    """cfg.num_samples stacked images built from the MNIST files at hand (the training split where present, else the
    10,000-image test split, with MNIST's notice)."""
    mnist = load_mnist(dataclasses.replace(cfg, name="mnist", image_size=None, channels=None), progress)
    assert mnist.labels is not None
    out = stack_digits(mnist.images, mnist.labels, cfg.num_samples, cfg.seed)
    out.notices = list(mnist.notices)
    return out
