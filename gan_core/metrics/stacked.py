"""Stacked MNIST's mode count and KL (VEEGAN/PacGAN protocol): each channel read by MNIST digit readers (readers.py)."""

from __future__ import annotations

import math
import statistics

import torch

from ..data.stacked import STACKED_MODES
from ..metric_names import MODES_COVERED, STACKED_KL
from .readers import DigitReader, Reader

STACKED_SAMPLES = 26_000  # the papers read 26,000 samples


def triple_scores(digits: torch.Tensor) -> dict[str, float]:
    """int64 N x 3 digits read (R, G, B) -> {modes covered, KL to uniform} of their triples (100 R + 10 G + B)."""
    return mode_histogram_scores(digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2])


def read_panel(images: torch.Tensor, readers: list[Reader]) -> dict[str, torch.Tensor]:
    """uint8 N x 3 x H x W stacked samples -> each reader's int64 N x 3 digits read (R, G, B), by reader name."""
    return {r.name: read_triples(images, r.read) for r in readers}


def panel_scores(triples: dict[str, torch.Tensor]) -> dict[str, float]:
    """Each reader's N x 3 digits (read_panel) -> {modes covered (the fewest any reader sees), KL (the readers'
    mean), and each reader's KL under "modes/kl/<reader>"}."""
    each = {name: triple_scores(digits) for name, digits in triples.items()}
    return {MODES_COVERED: min(s[MODES_COVERED] for s in each.values()),
            STACKED_KL: statistics.fmean(s[STACKED_KL] for s in each.values()),
            **{f"{STACKED_KL}/{name}": s[STACKED_KL] for name, s in each.items()}}


def read_triples(images: torch.Tensor, read: DigitReader) -> torch.Tensor:
    """uint8 N x 3 x H x W stacked samples -> int64 N x 3 digits read (R, G, B)."""
    assert images.dim() == 4 and images.shape[1] == 3, images.shape
    return torch.stack([read(images[:, c:c + 1]) for c in range(3)], 1)


def mode_histogram_scores(modes: torch.Tensor) -> dict[str, float]:
    """int64 N mode labels 0-999 -> {modes covered, KL of their histogram to uniform over 1,000 modes}."""
    counts = torch.bincount(modes, minlength=STACKED_MODES).double()
    p = counts[counts > 0] / counts.sum()
    kl = float((p * (p * STACKED_MODES).log()).sum())
    return {MODES_COVERED: int((counts > 0).sum()), STACKED_KL: max(0.0, kl)}


def uniform_kl_floor(n: int) -> float:
    """The KL to uniform a perfect generator still shows with n samples over 1,000 modes (sampling noise): about
    (K - 1) / (2n) nats, so 26,000 samples cannot score below ~0.02."""
    return (STACKED_MODES - 1) / (2 * n) if n else math.inf
