"""2-D point sets for mode-collapse studies and the playground: ring, grid (PacGAN/VEEGAN), spiral and moons."""

from __future__ import annotations

import math

import torch

from ..catalog import POINT_DATASETS
from ..config import DataConfig
from .base import ImageData, Progress

# The papers' mixtures (PacGAN, Lin et al. 2018; VEEGAN, Srivastava et al. 2017): 8 Gaussians on the unit circle
# with std 0.01, and 25 on the grid {-4, -2, 0, 2, 4}^2 with std 0.05.
RING_MODES, RING_RADIUS, RING_STD = 8, 1.0, 0.01
GRID_SIDE, GRID_SPACING, GRID_STD = 5, 2.0, 0.05
CURVE_NOISE = 0.05  # spiral and moons: the spread around their curves


def ring_centres() -> torch.Tensor:
    """8 x 2 mode centres on the unit circle."""
    angle = torch.arange(RING_MODES, dtype=torch.float64) * (2 * math.pi / RING_MODES)
    return (RING_RADIUS * torch.stack([angle.cos(), angle.sin()], 1)).float()


def grid_centres() -> torch.Tensor:
    """25 x 2 mode centres on {-4, -2, 0, 2, 4}^2, row by row."""
    axis = (torch.arange(GRID_SIDE, dtype=torch.float32) - (GRID_SIDE - 1) / 2) * GRID_SPACING
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], 1)


def _mixture(centres: torch.Tensor, std: float, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n points (n x 2) drawn evenly from Gaussians at `centres` (K x 2), and their mode indices (n)."""
    labels = torch.randint(centres.shape[0], (n,), generator=gen)
    return centres[labels] + std * torch.randn(n, 2, generator=gen), labels


def _spiral(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaved arms of an Archimedean spiral within radius ~2; labels: the arm."""
    labels = torch.randint(2, (n,), generator=gen)
    t = torch.rand(n, generator=gen).sqrt() * 3 * math.pi  # sqrt: even density along the arm's length
    angle = t + math.pi * labels
    r = t / (1.5 * math.pi)
    pts = torch.stack([r * angle.cos(), r * angle.sin()], 1)
    return pts + CURVE_NOISE * torch.randn(n, 2, generator=gen), labels


def _moons(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaving half circles (as scikit-learn's make_moons), centred on the origin; labels: the moon."""
    labels = torch.randint(2, (n,), generator=gen)
    t = torch.rand(n, generator=gen) * math.pi
    upper = torch.stack([t.cos(), t.sin()], 1)
    lower = torch.stack([1 - t.cos(), 0.5 - t.sin()], 1)
    pts = torch.where(labels[:, None] == 0, upper, lower) - torch.tensor([0.5, 0.25])
    return pts + CURVE_NOISE * torch.randn(n, 2, generator=gen), labels


POINT_SETS = POINT_DATASETS  # the catalog's point sets


def load_points(cfg: DataConfig, progress: Progress | None = None) -> ImageData:
    """cfg.num_samples points of cfg.name as float32 N x 2 x 1 x 1 (a 2-channel 1-pixel 'image', so every loss and
    D option applies unchanged), their mode labels and, for ring and grid, the mode centres and std the 2-D
    metrics score against."""
    gen = torch.Generator().manual_seed(cfg.seed)
    n = cfg.num_samples
    centres: torch.Tensor | None = None
    std = 0.0
    if cfg.name == "ring":
        centres, std = ring_centres(), RING_STD
    elif cfg.name == "grid":
        centres, std = grid_centres(), GRID_STD
    if centres is not None:
        pts, labels = _mixture(centres, std, n, gen)
        names = [f"mode {k}" for k in range(centres.shape[0])]
    else:
        pts, labels = (_spiral if cfg.name == "spiral" else _moons)(n, gen)
        names = ["arm 1", "arm 2"] if cfg.name == "spiral" else ["upper moon", "lower moon"]
    return ImageData(pts.float().reshape(n, 2, 1, 1).contiguous(), labels, names, cfg.name,
                     modes=centres, mode_std=std)
