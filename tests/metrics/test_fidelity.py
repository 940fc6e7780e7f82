"""Improved precision and recall on points whose k-NN balls can be worked out by hand."""

from __future__ import annotations

import pytest
import torch

from gan_core.metrics.fidelity import kth_neighbour_distance, precision_recall


def test_radii_are_the_distance_to_the_third_other_point() -> None:
    line = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0]])
    assert kth_neighbour_distance(line, 3).tolist() == [3.0, 2.0, 2.0, 2.0, 3.0]  # the middle point: 1, 1, 2, 2 away


def test_precision_counts_samples_in_real_balls_and_recall_real_points_in_sample_balls() -> None:
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0]])  # balls of radius 3, 2, 2, 2, 3
    fake = torch.tensor([[0.5], [1.5], [2.5], [50.0]])  # 50 is nowhere near; its ball (radius 47.5) covers all
    assert precision_recall(real, fake) == (0.75, 1.0)
    tight = torch.tensor([[0.0], [0.1], [0.2], [0.3]])  # radii 0.2-0.3: they cover real point 0 only
    assert precision_recall(real, tight) == (1.0, pytest.approx(0.2))
    assert precision_recall(real, real) == (1.0, 1.0)
