"""What the 2-D playground draws, computed off the page (GAN Lab, Kahng et al. 2019): D's surface, G's gradient
field, the latent mesh bent by G, and the D surfaces of several losses side by side."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..catalog import LOSSES, POINT_ARCH
from ..config import ModelConfig
from ..models import Discriminator, Generator, build_models
from .losses import d_loss, g_loss, gradient_penalty

HEAT_SIDE = 48  # D's surface: HEAT_SIDE x HEAT_SIDE samples over the plane
MESH_SIDE = 15  # the latent mesh: MESH_SIDE x MESH_SIDE latent points
MESH_RANGE = 2.5  # it spans [-2.5, 2.5]^2 of the latent plane (+-2.5 std of the noise)
FRAME_POINTS = 840  # generated points drawn: a multiple of every packing (1-8), so D judges whole packs


@dataclass
class Frame:
    """One picture of the playground (numpy, CPU): everything a page needs, nothing it must compute."""

    step: int
    real: np.ndarray  # R x 2 real points
    fake: np.ndarray  # FRAME_POINTS x 2 generated points (fixed noise: they move as G learns)
    arrows: np.ndarray  # FRAME_POINTS x 2: -d loss_G / d x at each generated point (where D pushes it)
    heat: np.ndarray  # HEAT_SIDE x HEAT_SIDE: D's 'probability real' (sigmoid of the logit; a critic's raw score)
    extent: tuple[float, float, float, float]  # x0, x1, y0, y1 of the heat map and the plot
    mesh: np.ndarray  # MESH_SIDE x MESH_SIDE x 2: G of a latent grid (rows and columns are the mesh's lines)
    loss: str


def plot_extent(real: torch.Tensor, margin: float = 0.35) -> tuple[float, float, float, float]:
    """A square view around the real points (N x 2) with a margin of `margin` times their span."""
    lo, hi = real.min(0).values, real.max(0).values
    centre, half = (lo + hi) / 2, float((hi - lo).max()) / 2 * (1 + margin) + 1e-3
    return (float(centre[0]) - half, float(centre[0]) + half, float(centre[1]) - half, float(centre[1]) + half)


def plane(extent: tuple[float, float, float, float], side: int = HEAT_SIDE) -> torch.Tensor:
    """side^2 x 2 points on a regular grid over extent, row by row from y0 (row i: y, column j: x)."""
    xs = torch.linspace(extent[0], extent[1], side)
    ys = torch.linspace(extent[2], extent[3], side)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], 1)


def d_surface(d: Discriminator, points: torch.Tensor, loss: str) -> torch.Tensor:
    """D's output at each point (N x 2 -> N): with packing, D judges a pack of m copies of the point."""
    x = points.repeat_interleave(d.pack, 0).reshape(-1, 2, 1, 1)  # N*m x 2 x 1 x 1: m copies in a row
    logits = d(x).float()  # N
    return logits if LOSSES[loss].critic else torch.sigmoid(logits)


def latent_plane(latent_dim: int, side: int = MESH_SIDE) -> torch.Tensor:
    """side^2 x latent_dim latents: a grid over the first two latent dimensions, the others 0."""
    axis = torch.linspace(-MESH_RANGE, MESH_RANGE, side)
    gy, gx = torch.meshgrid(axis, axis, indexing="ij")
    z = torch.zeros(side * side, latent_dim)
    z[:, 0], z[:, 1] = gx.flatten(), gy.flatten()
    return z


def make_frame(g: Generator, d: Discriminator, loss: str, real: torch.Tensor, z: torch.Tensor, step: int,
               extent: tuple[float, float, float, float]) -> Frame:
    """Draw G and D now (eval mode, training flags restored): real R x 2 points, z FRAME_POINTS x latent noise."""
    modes = (g.training, d.training)
    g.eval()
    d.eval()
    try:
        device = next(g.parameters()).device
        with torch.no_grad():
            heat = d_surface(d, plane(extent).to(device), loss).reshape(HEAT_SIDE, HEAT_SIDE)
            mesh = g(latent_plane(g.latent_dim).to(device)).reshape(MESH_SIDE, MESH_SIDE, 2)
            fake = g(z.to(device)).reshape(-1, 2)  # N x 2
        x = fake.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(g_loss(loss, d(x.reshape(-1, 2, 1, 1)).float()) * x.shape[0], x)  # N x 2
    finally:
        g.train(modes[0])
        d.train(modes[1])
    as_np = lambda t: t.detach().float().cpu().numpy()  # noqa: E731
    return Frame(step, as_np(real), as_np(fake), as_np(-grad), as_np(heat), extent, as_np(mesh), loss)


def loss_surfaces(real: torch.Tensor, fake: torch.Tensor, losses: tuple[str, ...], steps: int = 300,
                  width: int = 64, seed: int = 0) -> dict[str, np.ndarray]:
    """For each loss, a fresh D (the point MLP) trained `steps` Adam steps to tell real (N x 2) from fixed fake
    (M x 2) points, and its surface over plot_extent(real) (HEAT_SIDE x HEAT_SIDE): how each loss shapes D."""
    extent = plot_extent(torch.cat([real, fake]))
    out: dict[str, np.ndarray] = {}
    for loss in losses:
        torch.manual_seed(seed)
        _, d = build_models(ModelConfig(arch=POINT_ARCH, latent_dim=2, width=width, d_norm="none"), (2, 1, 1),
                            loss=loss)
        opt = torch.optim.Adam(d.parameters(), 1e-3, betas=(0.5, 0.9))
        gen = torch.Generator().manual_seed(seed)
        for _ in range(steps):
            r = real[torch.randint(len(real), (128,), generator=gen)].reshape(-1, 2, 1, 1)
            f = fake[torch.randint(len(fake), (128,), generator=gen)].reshape(-1, 2, 1, 1)
            objective = d_loss(loss, d(r), d(f))
            if LOSSES[loss].needs_gp:
                objective = objective + 10.0 * gradient_penalty(d, r, f)
            opt.zero_grad()
            objective.backward()
            opt.step()
        with torch.no_grad():
            out[loss] = d_surface(d.eval(), plane(extent), loss).reshape(HEAT_SIDE, HEAT_SIDE).numpy()
    return out
