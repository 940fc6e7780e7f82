"""Latent-space tools: seeded sampling with truncation, lerp/slerp paths, PCA directions."""

from __future__ import annotations

import torch

from .models import Generator


def sample_latents(n: int, dim: int, seed: int, truncation: float | None = None) -> torch.Tensor:
    """n x dim standard normal noise from a seed; with truncation t, values beyond +-t are redrawn
    (truncation trick)."""
    g = torch.Generator().manual_seed(int(seed))
    z = torch.randn(n, dim, generator=g)
    if truncation is not None and truncation > 0:
        for _ in range(100):  # redraw out-of-range values; each round keeps ~all but a tail
            bad = z.abs() > truncation
            if not bad.any():
                break
            z[bad] = torch.randn(int(bad.sum()), generator=g)
        z.clamp_(-truncation, truncation)
    return z


def lerp(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """steps x dim points on the straight line from a to b (dim,)."""
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    return a.unsqueeze(0) * (1 - t) + b.unsqueeze(0) * t


def slerp(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """steps x dim points on the great circle from a to b; keeps the norm typical of Gaussian noise."""
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    an, bn = a / a.norm(), b / b.norm()
    omega = torch.arccos((an * bn).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    if omega.abs() < 1e-4:
        return lerp(a, b, steps)
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a.unsqueeze(0) + (torch.sin(t * omega) / so) * b.unsqueeze(0)


@torch.no_grad()
def pca_directions(
    g: Generator, k: int = 8, n: int = 1024, seed: int = 0, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """k x latent unit directions that move the output most (GANSpace-style): PCA of G(z), regressed onto z."""
    z = sample_latents(n, g.latent_dim, seed)  # n x d
    x = g(z, labels if labels is not None else default_labels(g, n)).flatten(1)  # n x P
    x = x - x.mean(0)
    k = min(k, g.latent_dim, n - 1)
    _, _, v = torch.pca_lowrank(x, q=k, center=False)  # P x k output components
    scores = x @ v  # n x k: each sample's coordinate along each output component
    # Least squares z ~ scores @ w (w: k x d); row i is the latent move along output component i.
    w = torch.linalg.lstsq(scores, z - z.mean(0)).solution
    return w / w.norm(dim=1, keepdim=True).clamp_min(1e-8)


def default_labels(g: Generator, n: int) -> torch.Tensor | None:
    """Labels 0, 1, ..., cycling over the classes, for n samples of a conditional generator; None otherwise."""
    return torch.arange(n) % g.num_classes if g.num_classes else None
