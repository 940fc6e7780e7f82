"""DiffAugment-style augmentation: shapes kept, each image its own draw, gradients flow, the policy string checked."""

from __future__ import annotations

import pytest
import torch

from gan_core.config import parse_policy
from gan_core.train.augment import augment, cutout, translation


def test_parse_policy_accepts_known_names_and_refuses_others() -> None:
    assert parse_policy(" translation, cutout ") == ("translation", "cutout")
    assert parse_policy("") == ()
    with pytest.raises(ValueError, match="flip"):
        parse_policy("translation,flip")


def test_translation_shifts_each_image_by_whole_pixels_and_zero_fills() -> None:
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 8, 8] = 1.0  # one bright pixel in the middle of every image
    out = translation(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert torch.equal(out.sum((1, 2, 3)), torch.ones(64))  # the pixel moved, nothing else appeared
    where = out[:, 0].flatten(1).argmax(1)
    dy, dx = where // 16 - 8, where % 16 - 8
    assert dy.abs().max() <= 2 and dx.abs().max() <= 2  # 0.125 x 16 = 2 pixels at most
    assert len(set(zip(dy.tolist(), dx.tolist()))) > 5  # per-image draws, not one shift for the batch


def test_cutout_zeroes_one_square_per_image() -> None:
    x = torch.ones(32, 3, 16, 16)
    out = cutout(x, torch.Generator().manual_seed(1))
    zeroed = (out[:, 0] == 0).sum((1, 2))
    assert (zeroed > 0).all() and (zeroed <= 9 * 9).all()  # a square of side 8 (+1 for the centre), clipped
    assert torch.equal(out[:, 0] == 0, out[:, 2] == 0)  # the same square in every channel
    assert len(set(zeroed.tolist())) > 1  # squares at different places: some hang over the border


def test_augment_is_differentiable_and_reproducible_from_the_generator() -> None:
    x = torch.randn(8, 3, 32, 32, requires_grad=True)
    policy = parse_policy("color,translation,cutout")
    a = augment(x, policy, torch.Generator().manual_seed(5))
    b = augment(x, policy, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert not torch.equal(a, augment(x, policy, torch.Generator().manual_seed(6)))
