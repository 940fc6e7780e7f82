"""Stacked MNIST's mode count and KL (VEEGAN/PacGAN protocol): each channel read by an MNIST digit classifier."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..data import ImageData
from ..data.stacked import STACKED_MODES
from ..metric_names import MODES_COVERED, STACKED_KL
from .coverage import predict_proba, train_classifier

STACKED_SAMPLES = 26_000  # the papers read 26,000 samples
# digits(uint8 N x 1 x 28 x 28) -> N predicted digits 0-9
DigitReader = Callable[[torch.Tensor], torch.Tensor]


def stacked_scores(images: torch.Tensor, read: DigitReader) -> dict[str, float]:
    """uint8 N x 3 x H x W stacked samples: {modes covered (distinct digit triples seen, of 1,000), KL of the
    triples' histogram to uniform over 1,000 modes}."""
    assert images.dim() == 4 and images.shape[1] == 3, images.shape
    digits = torch.stack([read(images[:, c:c + 1]) for c in range(3)], 1)  # N x 3
    modes = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]  # N
    counts = torch.bincount(modes, minlength=STACKED_MODES).double()
    p = counts[counts > 0] / counts.sum()
    kl = float((p * (p * STACKED_MODES).log()).sum())
    return {MODES_COVERED: int((counts > 0).sum()), STACKED_KL: max(0.0, kl)}


def digit_reader(mnist: ImageData, device: str | torch.device = "cpu") -> tuple[DigitReader, float]:
    """An MNIST classifier trained on the digits at hand (uint8 N x 1 x 28 x 28 and labels), as a DigitReader, and
    its held-out accuracy."""
    assert mnist.labels is not None and mnist.shape[0] == 1
    model, accuracy = train_classifier(mnist.images, mnist.labels, 10, device)

    def read(images: torch.Tensor) -> torch.Tensor:
        return predict_proba(model, images, device).argmax(1)

    return read, accuracy


def uniform_kl_floor(n: int) -> float:
    """The KL to uniform a perfect generator still shows with n samples over 1,000 modes (sampling noise): about
    (K - 1) / (2n) nats, so 26,000 samples cannot score below ~0.02."""
    return (STACKED_MODES - 1) / (2 * n) if n else math.inf
