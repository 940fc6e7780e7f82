"""Stacked MNIST (VEEGAN, PacGAN): three MNIST digits as the R, G and B channels, 1,000 modes."""

from __future__ import annotations

import dataclasses

import torch

from ..config import DataConfig
from .base import ImageData, Progress
from .mnist import load_mnist

STACKED_MODES = 1000  # 10 digits in each of 3 channels


def stack_digits(images: torch.Tensor, labels: torch.Tensor, n: int, seed: int) -> ImageData:
    """n RGB images (uint8 n x 3 x H x W) whose channels are three digits drawn at random from images
    (uint8 N x 1 x H x W, labels N); label = 100 * red digit + 10 * green digit + blue digit."""
    assert images.dim() == 4 and images.shape[1] == 1 and labels.shape == (images.shape[0],)
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(images.shape[0], (n, 3), generator=gen)  # n x 3 source digits (R, G, B)
    stacked = images[idx.flatten(), 0].reshape(n, 3, *images.shape[2:]).contiguous()  # n x 3 x H x W
    digits = labels[idx]  # n x 3
    return ImageData(stacked, digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2], None, "stacked_mnist")


def load_stacked_mnist(cfg: DataConfig, progress: Progress | None = None) -> ImageData:
    """cfg.num_samples stacked images built from the MNIST files at hand (the training split where present, else the
    10,000-image test split, with MNIST's notice)."""
    mnist = load_mnist(dataclasses.replace(cfg, name="mnist", image_size=None, channels=None), progress)
    assert mnist.labels is not None
    out = stack_digits(mnist.images, mnist.labels, cfg.num_samples, cfg.seed)
    out.notices = list(mnist.notices)
    return out
