"""Sampling: eval mode without side effects, its own random stream, and thread-safe generator copies."""

from __future__ import annotations

import torch
from conftest import tiny_config

from gan_core.models import build_models
from gan_core.sampling import generate, in_chunks, sample_images, snapshot


def _generator(conditional: bool = False):
    cfg = tiny_config("dcgan")
    cfg.model.conditional = conditional
    g, _ = build_models(cfg.model, (3, 16, 16), 3)
    return g


def test_generate_uses_running_statistics_and_restores_the_training_flag() -> None:
    g = _generator().train()
    z = torch.randn(4, g.latent_dim)
    before = [b.clone() for b in g.buffers()]
    global_state = torch.get_rng_state()
    out = generate(g, z)
    assert out.shape == (4, 3, 16, 16) and out.dtype == torch.uint8 and g.training
    assert all(torch.equal(a, b) for a, b in zip(before, g.buffers()))  # eval mode: statistics untouched
    assert torch.equal(torch.get_rng_state(), global_state)
    assert torch.equal(out, generate(g, z))


def test_sample_images_draws_only_from_its_generator() -> None:
    g = _generator(conditional=True)
    global_state = torch.get_rng_state()
    a = sample_images(g, 7, torch.Generator().manual_seed(1), chunk=3)
    b = sample_images(g, 7, torch.Generator().manual_seed(1), chunk=3)
    c = sample_images(g, 7, torch.Generator().manual_seed(2), chunk=3)
    assert torch.equal(torch.get_rng_state(), global_state)
    assert a.shape == (7, 3, 16, 16) and torch.equal(a, b) and not torch.equal(a, c)


def test_snapshot_is_an_independent_frozen_cpu_copy() -> None:
    g = _generator()
    copy = snapshot(g)
    assert copy is not g and not copy.training and not any(p.requires_grad for p in copy.parameters())
    with torch.no_grad():
        next(g.parameters()).add_(1.0)
    assert not torch.equal(next(g.parameters()), next(copy.parameters()))


def test_the_one_chunked_loop_gives_what_one_call_gives_and_keeps_the_classes_in_turn() -> None:
    g = _generator(conditional=True)
    z, y = torch.randn(7, g.latent_dim), torch.arange(7) % 3
    seen: list[tuple[int, list[int]]] = []

    def draw(zc: torch.Tensor, yc: torch.Tensor | None) -> torch.Tensor:
        seen.append((zc.shape[0], yc.tolist()))
        return generate(g, zc, yc)

    assert torch.equal(in_chunks(draw, z, y, chunk=3), generate(g, z, y))  # eval mode: no batch statistics
    assert seen == [(3, [0, 1, 2]), (3, [0, 1, 2]), (1, [0])]
    # the trainer's scores: the same images whichever the chunk, classes in turn across chunks
    assert torch.equal(sample_images(g, 7, torch.Generator().manual_seed(1), chunk=3),
                       sample_images(g, 7, torch.Generator().manual_seed(1), chunk=500))
