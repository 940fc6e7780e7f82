"""Differentiable augmentation of all D sees, real and fake alike (DiffAugment, Zhao et al. 2020)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

TRANSLATE = 0.125  # largest shift, as a fraction of the side (DiffAugment's default)
CUTOUT = 0.5  # side of the zeroed square, as a fraction of the image side


def augment(x: torch.Tensor, policy: tuple[str, ...], rng: torch.Generator) -> torch.Tensor:
    """x: N x C x H x W in [-1, 1] -> the same shape, each image transformed by its own random draw from rng.

    Every operation is differentiable in x, so G learns through the augmentation and D never sees an unaugmented
    image: it cannot tell real from fake by the augmentation itself, and it overfits a small set far later.
    """
    for name in policy:
        x = _OPS[name](x, rng)
    return x


def _rand(n: int, x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    return torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype, generator=rng)  # N x 1 x 1 x 1 in [0, 1)


def color(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (x0-2) and contrast (x0.5-1.5) per image."""
    n = x.shape[0]
    x = x + (_rand(n, x, rng) - 0.5)
    mean = x.mean(1, keepdim=True)  # N x 1 x H x W: the grey level of each pixel
    x = (x - mean) * (_rand(n, x, rng) * 2) + mean
    mean = x.mean((1, 2, 3), keepdim=True)  # N x 1 x 1 x 1
    return (x - mean) * (_rand(n, x, rng) + 0.5) + mean


def translation(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Shift each image by whole pixels, up to TRANSLATE of its side in each direction; vacated pixels are zero."""
    n, _, h, w = x.shape
    s = max(1, round(h * TRANSLATE))
    shift = torch.randint(-s, s + 1, (2, n, 1), device=x.device, generator=rng)  # 2 x N x 1: dy, dx
    rows = torch.arange(h, device=x.device) + s - shift[0]  # N x H: source rows in the padded image
    cols = torch.arange(w, device=x.device) + s - shift[1]  # N x W
    padded = F.pad(x, (s, s, s, s))  # N x C x (H + 2s) x (W + 2s)
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # N x H x W x C
    return out.permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Zero one square of side CUTOUT x side per image, at a random centre (it may hang over the border)."""
    n, _, h, w = x.shape
    size = max(1, round(h * CUTOUT))
    centre = torch.randint(0, h, (2, n, 1), device=x.device, generator=rng)  # 2 x N x 1: row, column
    rows = (torch.arange(h, device=x.device) - centre[0]).abs() <= size // 2  # N x H: inside the square's rows
    cols = (torch.arange(w, device=x.device) - centre[1]).abs() <= size // 2  # N x W
    keep = ~(rows[:, :, None] & cols[:, None, :])  # N x H x W
    return x * keep[:, None].to(x.dtype)


_OPS = {"translation": translation, "cutout": cutout, "color": color}
