"""Latent-space tools: seeded sampling with truncation, lerp/slerp paths, PCA directions, loading a generator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .checkpoints import load_checkpoint
from .config import RunConfig
from .data import to_uint8
from .data.base import POINT_SHAPE
from .models import Generator, build_models
from .models.fused import fuse_upsample_conv


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
    x = g(z, labels if labels is not None else _default_labels(g, n)).flatten(1)  # n x P
    x = x - x.mean(0)
    k = min(k, g.latent_dim, n - 1)
    _, _, v = torch.pca_lowrank(x, q=k, center=False)  # P x k output components
    scores = x @ v  # n x k: each sample's coordinate along each output component
    # Least squares z ~ scores @ w (w: k x d); row i is the latent move along output component i.
    w = torch.linalg.lstsq(scores, z - z.mean(0)).solution
    return w / w.norm(dim=1, keepdim=True).clamp_min(1e-8)


def _default_labels(g: Generator, n: int) -> torch.Tensor | None:
    return torch.arange(n) % g.num_classes if g.num_classes else None


@dataclass
class LoadedGenerator:
    """A generator rebuilt from a checkpoint for sampling (EMA weights when saved), CPU, eval mode."""

    generator: Generator
    config: RunConfig
    step: int
    class_names: list[str]
    state: dict[str, Any]

    @torch.no_grad()
    def images(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """uint8 N x C x H x W from latents z (N x d) and, for conditional models, labels (N,)."""
        if self.generator.num_classes and labels is None:
            labels = _default_labels(self.generator, z.shape[0])
        return to_uint8(self.generator(z, labels))

    @property
    def is_points(self) -> bool:
        """A generator of 2-D points (the mlp-2d architecture) rather than images."""
        return self.generator.image_shape == POINT_SHAPE

    @torch.no_grad()
    def points(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """float32 N x 2 coordinates from latents z (N x d), for a point generator."""
        if self.generator.num_classes and labels is None:
            labels = _default_labels(self.generator, z.shape[0])
        return self.generator(z, labels).reshape(-1, 2).float()


def generator_from_state(state: dict[str, Any]) -> LoadedGenerator:
    """Build the generator described by a loaded checkpoint state and load its (EMA) weights."""
    cfg = RunConfig.from_dict(state["config"])
    g, _ = build_models(cfg.model, tuple(state["image_shape"]), int(state.get("num_classes", 0)), cfg.train.loss)
    g.load_state_dict(state["EMA"] if state.get("EMA") is not None else state["G"])
    fuse_upsample_conv(g)  # as the Trainer computes it: the same samples, bit for bit
    g.eval().requires_grad_(False)
    return LoadedGenerator(g, cfg, int(state["step"]), list(state.get("class_names") or []), state)


def load_generator(path: str | Path) -> LoadedGenerator:
    """Load a checkpoint file (weights_only) and return its sampling generator."""
    return generator_from_state(load_checkpoint(path))
