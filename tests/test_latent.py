"""Latent tools: seeded sampling and truncation, lerp/slerp endpoints and norms, PCA directions."""

from __future__ import annotations

import torch
from conftest import tiny_config

from gan_core.latent import lerp, pca_directions, sample_latents, slerp
from gan_core.sampling import snapshot
from gan_core.train.trainer import Trainer


def test_sampling_is_seeded_and_truncation_bounds_values() -> None:
    a, b, c = sample_latents(8, 16, 1), sample_latents(8, 16, 1), sample_latents(8, 16, 2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    t = sample_latents(256, 16, 1, truncation=0.5)
    assert t.abs().max() <= 0.5 and t.std() > 0.2  # redrawn, not clamped to the edges


def test_paths_start_and_end_at_the_endpoints() -> None:
    a, b = torch.randn(32), torch.randn(32)
    for path in (lerp(a, b, 7), slerp(a, b, 7)):
        assert path.shape == (7, 32)
        assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    mid_lerp, mid_slerp = lerp(a, b, 3)[1].norm(), slerp(a, b, 3)[1].norm()
    assert mid_slerp > mid_lerp  # slerp keeps the norm of typical noise, lerp shrinks it


def test_pca_directions_are_unit_and_move_the_output_more_than_random_ones() -> None:
    tr = Trainer(tiny_config("mlp", steps=30))
    tr.run()
    g = snapshot(tr.sampler)
    dirs = pca_directions(g, k=4, n=256)
    assert dirs.shape == (4, 16)
    assert torch.allclose(dirs.norm(dim=1), torch.ones(4), atol=1e-5)
    z = sample_latents(64, 16, 5)
    base = g(z)
    pc_move = (g(z + 2 * dirs[0]) - base).abs().mean()
    rand = torch.randn(16)
    rand_move = (g(z + 2 * rand / rand.norm()) - base).abs().mean()
    assert pc_move > rand_move
