"""2-D point sets and their mode metrics (PacGAN/VEEGAN protocol), on planted point sets with known answers."""

from __future__ import annotations

import math

import pytest
import torch

from gan_core.config import DataConfig
from gan_core.data import load_dataset
from gan_core.data.points import GRID_STD, RING_STD, grid_centres, ring_centres
from gan_core.metrics.modes import collapse_message, mode_scores


def test_ring_and_grid_are_the_papers_mixtures() -> None:
    ring = ring_centres()
    assert ring.shape == (8, 2) and torch.allclose(ring.norm(dim=1), torch.ones(8))
    assert torch.allclose(ring[2], torch.tensor([0.0, 1.0]), atol=1e-6)
    grid = grid_centres()
    assert grid.shape == (25, 2) and set(grid[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert len({tuple(p) for p in grid.tolist()}) == 25
    assert (RING_STD, GRID_STD) == (0.01, 0.05)


@pytest.mark.parametrize("name,k,std", [("ring", 8, 0.01), ("grid", 25, 0.05)])
def test_mixture_points_carry_their_mode_labels_and_spread(name: str, k: int, std: float) -> None:
    data = load_dataset(DataConfig(name=name, num_samples=20000, seed=1))
    assert data.is_points and data.images.dtype == torch.float32 and data.images.shape == (20000, 2, 1, 1)
    assert data.modes.shape == (k, 2) and data.mode_std == std and data.num_classes == k
    offset = data.points - data.modes[data.labels]  # N x 2: each point's distance from its own mode
    assert abs(float(offset.std()) - std) < 0.05 * std
    assert torch.bincount(data.labels, minlength=k).min() > 20000 / k * 0.85  # evenly drawn
    again = load_dataset(DataConfig(name=name, num_samples=20000, seed=1))
    assert torch.equal(again.images, data.images)  # seeded


@pytest.mark.parametrize("name", ["spiral", "moons"])
def test_demo_sets_are_two_labelled_curves_without_modes(name: str) -> None:
    data = load_dataset(DataConfig(name=name, num_samples=2000))
    assert data.is_points and data.modes is None and data.num_classes == 2
    assert data.points.abs().max() < 3.0


def test_every_mode_evenly_covered_scores_perfectly() -> None:
    centres = ring_centres()
    points = centres.repeat(100, 1) + 0.005 * torch.randn(800, 2)  # within 3 std (0.03) of their modes
    s = mode_scores(points, centres, RING_STD)
    assert s == {"modes/covered": 8, "modes/hq": 100.0, "modes/rkl": pytest.approx(0.0, abs=1e-12)}


def test_one_mode_covers_one_with_the_reverse_kl_of_a_single_mode() -> None:
    centres = grid_centres()
    points = centres[7].repeat(2500, 1)
    s = mode_scores(points, centres, GRID_STD)
    assert s["modes/covered"] == 1 and s["modes/hq"] == 100.0
    assert s["modes/rkl"] == pytest.approx(math.log(25))


def test_points_off_every_mode_cover_nothing() -> None:
    centres = ring_centres()
    points = torch.zeros(2500, 2)  # the ring's centre: 1 away from every mode, 100 std
    s = mode_scores(points, centres, RING_STD)
    assert s["modes/covered"] == 0 and s["modes/hq"] == 0.0 and s["modes/rkl"] == pytest.approx(math.log(8))


def test_high_quality_is_within_three_std_and_the_histogram_counts_only_those() -> None:
    centres = ring_centres()
    near = centres[:2].repeat_interleave(torch.tensor([300, 100]), 0) + torch.tensor([0.029, 0.0])
    far = centres[2:].repeat(50, 1) + torch.tensor([0.0, 0.031])  # 300 points just outside 3 std of modes 2-7
    s = mode_scores(torch.cat([near, far]), centres, RING_STD)
    assert s["modes/covered"] == 2 and s["modes/hq"] == pytest.approx(100 * 400 / 700)
    p = torch.tensor([0.75, 0.25])
    assert s["modes/rkl"] == pytest.approx(float((p * (p * 8).log()).sum()))  # KL((3/4, 1/4, 0...) || uniform 8)


def test_the_collapse_alert_says_it_in_plain_words() -> None:
    assert collapse_message(3, 8).startswith("The generator covers 3 of 8 modes")
