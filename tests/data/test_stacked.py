"""Stacked MNIST: the construction (three digits as R, G, B; 1,000 mode labels) and its mode count and KL."""

from __future__ import annotations

import math

import pytest
import torch

from gan_core.data.stacked import STACKED_MODES, distinct_digits, stack_digits
from gan_core.metric_names import STACKED_KL
from gan_core.metrics.stacked import read_triples, triple_scores, uniform_kl_floor

MODES = "modes/covered"


def planted_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """20 one-channel 'digits' whose pixels all hold 10 * digit + 5: a reader can tell them apart exactly."""
    labels = torch.arange(20) % 10
    images = (labels * 10 + 5).to(torch.uint8).view(20, 1, 1, 1).expand(20, 1, 28, 28).contiguous()
    return images, labels


def read_planted(images: torch.Tensor) -> torch.Tensor:
    return (images[:, 0, 0, 0].long() - 5) // 10


def test_each_channel_is_a_source_digit_and_the_label_names_all_three() -> None:
    images, labels = planted_digits()
    data = stack_digits(images, labels, 500, seed=3)
    assert data.images.shape == (500, 3, 28, 28) and data.images.dtype == torch.uint8
    digits = torch.stack([read_planted(data.images[:, c:c + 1]) for c in range(3)], 1)  # 500 x 3
    assert torch.equal(data.labels, digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2])
    assert len(set(data.labels.tolist())) > 300  # 500 draws over 1,000 modes: many distinct
    assert torch.equal(stack_digits(images, labels, 500, seed=3).images, data.images)  # seeded


def test_every_mode_once_covers_1000_with_zero_kl() -> None:
    images, labels = planted_digits()
    triples = torch.tensor([[a, b, c] for a in range(10) for b in range(10) for c in range(10)])  # 1000 x 3
    stacked = torch.cat([images[triples[:, c]] for c in range(3)], 1)  # 1000 x 3 x 28 x 28
    s = triple_scores(read_triples(stacked, read_planted))
    assert s[MODES] == STACKED_MODES and s[STACKED_KL] == pytest.approx(0.0, abs=1e-12)


def test_one_mode_covers_one_with_kl_log_1000() -> None:
    images, _ = planted_digits()
    one = torch.cat([images[7:8], images[2:3], images[9:10]], 1).repeat(50, 1, 1, 1)  # digits 7, 2, 9
    s = triple_scores(read_triples(one, read_planted))
    assert s[MODES] == 1 and s[STACKED_KL] == pytest.approx(math.log(1000))


def test_the_kl_floor_of_a_perfect_generator_at_the_papers_sample_count() -> None:
    assert uniform_kl_floor(26_000) == pytest.approx(0.0192, abs=1e-3)


def test_distinct_digits_are_the_sources_drawn_once_each_with_their_labels() -> None:
    gen = torch.Generator().manual_seed(0)
    sources = torch.randint(0, 256, (30, 1, 28, 28), dtype=torch.uint8, generator=gen)  # 30 distinct digits
    labels = torch.randint(0, 10, (30,), generator=gen)
    stacked = stack_digits(sources, labels, 40, seed=1)  # 120 draws: each source several times, in any channel
    digits = distinct_digits(stacked)
    assert digits.images.shape == (30, 1, 28, 28) and digits.labels is not None
    found = {bytes(img.flatten().tolist()): int(lab) for img, lab in zip(digits.images, digits.labels, strict=True)}
    assert found == {bytes(img.flatten().tolist()): int(lab) for img, lab in zip(sources, labels, strict=True)}
