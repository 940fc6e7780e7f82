"""EMA of G: weights averaged with the decay, BatchNorm statistics equal to G's after every update and every load."""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import tiny_config

from gan_core.models import build_models
from gan_core.runs.checkpoints import load_checkpoint, save_checkpoint
from gan_core.train.ema import EMA
from gan_core.train.trainer import Trainer


def _dcgan_generator():
    g, _ = build_models(tiny_config("dcgan").model, (3, 16, 16))
    return g


def test_update_averages_weights_and_copies_buffers() -> None:
    g = _dcgan_generator()
    ema = EMA(g, 0.75)
    start = [p.detach().clone() for p in ema.module.parameters()]
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
    g.train()(torch.randn(8, g.latent_dim))  # a training-mode forward moves BatchNorm's running statistics
    ema.update(1000)  # past the ramp: the decay itself
    for s, e, p in zip(start, ema.module.parameters(), g.parameters()):
        assert torch.allclose(e, 0.75 * s + 0.25 * p)
    bufs = list(g.named_buffers())
    assert any("running_mean" in n and b.abs().sum() > 0 for n, b in bufs)
    for (name, b), e in zip(bufs, ema.module.buffers()):
        assert torch.equal(e, b), name
    assert not ema.module.training and not any(p.requires_grad for p in ema.module.parameters())


def test_ema_sampler_batchnorm_statistics_equal_the_generators_after_training() -> None:
    # No callbacks: nothing samples during the run, so only the EMA update itself can have copied the statistics.
    tr = Trainer(tiny_config("dcgan", steps=4, ema=0.9), callbacks=[])
    initial = {n: b.clone() for n, b in tr.G.named_buffers()}
    tr.run()
    assert tr.sampler is tr.ema.module
    changed = [n for n, b in tr.G.named_buffers() if "running" in n and not torch.equal(b, initial[n])]
    assert changed, "training did not move G's BatchNorm statistics"
    for (name, b), e in zip(tr.G.named_buffers(), tr.sampler.buffers()):
        assert torch.equal(e, b), name


def test_loading_an_older_checkpoint_takes_the_generators_buffers(tmp_path) -> None:
    tr = Trainer(tiny_config("dcgan", steps=3, ema=0.9), callbacks=[])
    tr.run()
    state = copy.deepcopy(tr.state_dict())
    for name in state["EMA"]:  # older trainers saved EMA statistics synced only when they last sampled
        if "running" in name:
            state["EMA"][name] = torch.zeros_like(state["EMA"][name])
    path = save_checkpoint(state, tmp_path / "old.pt")
    resumed = Trainer(tiny_config("dcgan", steps=3, ema=0.9), callbacks=[])
    resumed.load_state_dict(load_checkpoint(path))
    for (name, b), e in zip(resumed.G.named_buffers(), resumed.ema.module.buffers()):
        assert torch.equal(e, b), name
    for name, p in resumed.ema.module.named_parameters():  # the averaged weights themselves are the saved ones
        assert torch.equal(p, state["EMA"][name])


def test_the_decay_ramps_up_so_early_samples_follow_g() -> None:
    g = _dcgan_generator()
    ema = EMA(g, 0.995)
    ramp = [ema.decay_at(step) for step in (0, 10, 100, 1000, 100_000)]
    assert ramp[0] == pytest.approx(0.1) and ramp[2] == pytest.approx(101 / 110)
    assert ramp == sorted(ramp) and ramp[-1] == 0.995 and ramp[3] < 0.995  # rising, capped at the decay
    start = [p.detach().clone() for p in ema.module.parameters()]
    with torch.no_grad():
        for p in g.parameters():
            p.add_(1.0)
    ema.update(0)  # the first step: the copy moves 90% of the way to G
    for s, e, p in zip(start, ema.module.parameters(), g.parameters()):
        assert torch.allclose(e, 0.1 * s + 0.9 * p)


@pytest.mark.parametrize("decay", [0.0, 1.0])
def test_decay_must_average(decay: float) -> None:
    with pytest.raises(AssertionError):
        EMA(_dcgan_generator(), decay)


def test_without_ema_the_sampler_is_g() -> None:
    tr = Trainer(tiny_config("dcgan", steps=1), callbacks=[])
    assert tr.ema is None and tr.sampler is tr.G
