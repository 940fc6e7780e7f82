"""Losses on logits: values at known points, label smoothing, gradient penalty."""

from __future__ import annotations

import math

import pytest
import torch

from gan_core.train.losses import d_loss, g_loss, gradient_penalty, r1_penalty


def test_bce_matches_the_sigmoid_bce_definition() -> None:
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    expected = torch.nn.BCELoss()(torch.sigmoid(real), torch.ones(2)) + torch.nn.BCELoss()(
        torch.sigmoid(fake), torch.zeros(2)
    )
    assert d_loss("bce", real, fake).item() == pytest.approx(expected.item(), rel=1e-5)
    assert g_loss("bce", fake).item() == pytest.approx(-torch.log(torch.sigmoid(fake)).mean().item(), rel=1e-5)


def test_label_smoothing_moves_the_optimum() -> None:
    logit = torch.tensor([math.log(0.9 / 0.1)], requires_grad=True)  # D(x) = 0.9
    loss = d_loss("bce", logit, torch.tensor([-10.0]), real_label=0.9)
    (grad,) = torch.autograd.grad(loss, logit)
    assert abs(grad.item()) < 1e-6  # 0.9 is the minimum with a 0.9 target
    (grad1,) = torch.autograd.grad(d_loss("bce", logit, torch.tensor([-10.0])), logit)
    assert grad1.item() < -0.05  # without smoothing D is still pushed towards certainty


def test_hinge_lsgan_wasserstein_values() -> None:
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-2.0, 0.5])
    assert d_loss("hinge", real, fake).item() == pytest.approx((0 + 1) / 2 + (0 + 1.5) / 2)
    assert d_loss("lsgan", real, fake).item() == pytest.approx(0.5 * (1 + 1) / 2 + 0.5 * (4 + 0.25) / 2)
    assert d_loss("wgan-gp", real, fake).item() == pytest.approx(-0.75 - 1.0)
    assert g_loss("wgan-gp", fake).item() == pytest.approx(0.75)


def test_gradient_penalty_is_zero_for_a_unit_slope_critic_and_positive_otherwise() -> None:
    real, fake = torch.randn(8, 1, 2, 2), torch.randn(8, 1, 2, 2)
    w = torch.zeros(1, 1, 2, 2)
    w[0, 0, 0, 0] = 1.0  # gradient norm exactly 1 everywhere
    unit = lambda x, y=None: (x * w).flatten(1).sum(1)  # noqa: E731
    steep = lambda x, y=None: 3 * (x * w).flatten(1).sum(1)  # noqa: E731
    assert gradient_penalty(unit, real, fake).item() == pytest.approx(0.0, abs=1e-10)
    assert gradient_penalty(steep, real, fake).item() == pytest.approx(4.0)


def test_r1_penalty_is_the_squared_gradient_norm_at_each_input_of_d_and_zero_where_d_is_flat() -> None:
    real = torch.randn(8, 1, 2, 1)  # 8 two-coordinate samples
    w = torch.tensor([3.0, -4.0]).reshape(1, 1, 2, 1)  # |w| = 5
    linear = lambda x, y=None: (x * w).flatten(1).sum(1)  # noqa: E731  gradient w at every point
    assert r1_penalty(linear, real).item() == pytest.approx(25.0)
    # A packing D (pairs of samples as one input of 4 coordinates): the norm is taken over the pack's input.
    packed = lambda x, y=None: (x.reshape(4, 4) * torch.tensor([3.0, -4.0, 1.0, 2.0])).sum(1)  # noqa: E731
    assert r1_penalty(packed, real).item() == pytest.approx(30.0)
    quadratic = lambda x, y=None: (x - real).square().flatten(1).sum(1)  # noqa: E731  flat at the real points
    assert r1_penalty(quadratic, real).item() == pytest.approx(0.0, abs=1e-12)
    assert r1_penalty(quadratic, real + 1.0).item() > 0
