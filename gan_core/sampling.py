"""Images from a generator for grids, scores and the UI: eval mode, no autograd, and a random stream of their own."""

from __future__ import annotations

import copy

import torch

from .data import to_uint8
from .models import Generator


@torch.no_grad()
def generate(g: Generator, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """uint8 N x C x H x W on the CPU from latents z (N x latent) in eval mode (BatchNorm running statistics, no
    dropout); g's training flag is restored. Consumes no random numbers."""
    was_training = g.training
    g.eval()
    try:
        return to_uint8(g(z, labels).float()).cpu()
    finally:
        g.train(was_training)


@torch.no_grad()
def sample_images(g: Generator, n: int, rng: torch.Generator, chunk: int = 500) -> torch.Tensor:
    """uint8 n x C x H x W fresh samples, drawn in chunks; latents come from `rng` only, so sampling never moves the
    training's random streams (exact resume holds with scoring on). Conditional generators draw the classes in turn
    (balanced, as the real sets are)."""
    device = rng.device
    out = []
    for start in range(0, n, chunk):
        k = min(chunk, n - start)
        z = torch.randn(k, g.latent_dim, device=device, generator=rng)  # k x latent
        y = None
        if g.num_classes:
            y = torch.arange(start, start + k, device=device) % g.num_classes  # k class indices, in turn
        out.append(generate(g, z, y))
    return torch.cat(out)


def snapshot(g: Generator) -> Generator:
    """A CPU copy of g in eval mode without gradients, safe to use from another thread while g trains."""
    return copy.deepcopy(g).cpu().eval().requires_grad_(False)
