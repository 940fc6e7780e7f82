"""Images from a generator for grids, scores and the UI: eval mode, no autograd, and a random stream of their own."""

from __future__ import annotations

import copy
from collections.abc import Callable

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


SAMPLE_CHUNK = 500  # samples per generator call


def in_chunks(draw: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor], z: torch.Tensor,
              labels: torch.Tensor | None = None, chunk: int = SAMPLE_CHUNK) -> torch.Tensor:
    """draw(z, labels) over chunks of z (N x latent) and labels (N,): the generator's float activations for all N
    samples at once would dwarf the uint8 images it returns. The one sampling loop (scores, `cli sample`, eval)."""
    return torch.cat([draw(z[i:i + chunk], None if labels is None else labels[i:i + chunk])
                      for i in range(0, z.shape[0], chunk)])


@torch.no_grad()
def sample_images(g: Generator, n: int, rng: torch.Generator, chunk: int = SAMPLE_CHUNK) -> torch.Tensor:
    """uint8 n x C x H x W fresh samples, drawn in chunks; latents come from `rng` only, so sampling never moves the
    training's random streams (exact resume holds with scoring on). Conditional generators draw the classes in turn
    (balanced, as the real sets are)."""
    device = rng.device
    z = torch.randn(n, g.latent_dim, device=device, generator=rng)  # n x latent: small beside the images
    y = torch.arange(n, device=device) % g.num_classes if g.num_classes else None  # class indices, in turn
    return in_chunks(lambda zc, yc: generate(g, zc, yc), z, y, chunk)


def snapshot(g: Generator) -> Generator:
    """A CPU copy of g in eval mode without gradients, safe to use from another thread while g trains."""
    return copy.deepcopy(g).cpu().eval().requires_grad_(False)
