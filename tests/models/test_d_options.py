"""D's options against mode collapse, on every architecture: packing (PacGAN) and minibatch standard deviation."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from conftest import tiny_config

from gan_core.config import ModelConfig, RunConfig
from gan_core.errors import ConfigError
from gan_core.models import build_models
from gan_core.models.base import minibatch_std
from gan_core.runs.checkpoints import load_checkpoint, save_checkpoint
from gan_core.train.trainer import Trainer

ARCHS = ["mlp-small", "mlp", "mlp-deep", "upsample-conv", "dcgan"]


def options_config(arch: str = "mlp", loss: str = "bce", pack: int = 1, mbstd: int = 0, **train: object) -> RunConfig:
    cfg = tiny_config(arch, loss, **train)
    cfg.model.pack, cfg.model.mbstd = pack, mbstd
    return cfg.validate()


@pytest.mark.parametrize("arch", ARCHS)
def test_packing_and_mbstd_shapes_on_every_architecture(arch: str) -> None:
    _, d = build_models(ModelConfig(arch=arch, latent_dim=16, width=8, pack=2, mbstd=2), (3, 32, 32), loss="wgan-gp")
    x = torch.randn(8, 3, 32, 32)
    assert d(x).shape == (4,)  # 8 samples in packs of 2: 4 logits
    first = next(m for m in d.body.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    assert first.weight.shape[1] in (6, 2 * 3 * 32 * 32)  # the body reads 2 samples' channels (conv) or pixels (MLP)
    _, plain = build_models(ModelConfig(arch=arch, latent_dim=16, width=8), (3, 32, 32), loss="wgan-gp")
    assert d.head.in_features == plain.head.in_features + 1  # the spread feature


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_gradients_reach_every_parameter_and_every_packed_sample(arch: str) -> None:
    _, d = build_models(ModelConfig(arch=arch, latent_dim=16, width=8, pack=4, mbstd=2), (1, 28, 28))
    x = torch.randn(16, 1, 28, 28, requires_grad=True)
    d(x).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in d.parameters())
    assert (x.grad.flatten(1).abs().sum(1) > 0).all()  # each of the 16 samples moves the logits


def test_a_pack_is_judged_as_one_input_of_consecutive_samples() -> None:
    torch.manual_seed(0)
    _, d = build_models(ModelConfig(arch="mlp", pack=2), (1, 4, 4), loss="wgan-gp")
    d.eval()
    x = torch.randn(4, 1, 4, 4)
    out = d(x)
    changed = x.clone()
    changed[3] += 1.0  # the second pack only
    out2 = d(changed)
    assert out2[0] == out[0] and out2[1] != out[1]
    swapped = x[[1, 0, 2, 3]]  # order within a pack matters: the samples are concatenated, not pooled
    assert d(swapped)[0] != out[0]
    manual = d.head(d.body(torch.cat([x[0:1], x[1:2]], 1)))  # 1 x 2C x H x W
    assert torch.allclose(manual.squeeze(), out[0])


def test_a_conditional_packing_d_projects_the_mean_of_its_packs_class_embeddings() -> None:
    _, d = build_models(ModelConfig(arch="mlp", pack=2, conditional=True), (1, 4, 4), 3, loss="wgan-gp")
    d.eval()
    torch.nn.init.normal_(d.embed.weight)
    x = torch.randn(2, 1, 4, 4)
    a, b = d(x, torch.tensor([0, 1])), d(x, torch.tensor([1, 0]))
    assert a.shape == (1,) and torch.allclose(a, b)  # a pack is judged by its classes, in any order
    assert not torch.allclose(a, d(x, torch.tensor([2, 2])))


def test_minibatch_std_is_the_spread_within_each_group_only() -> None:
    h = torch.tensor([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0], [2.0, 4.0]])
    out = minibatch_std(h, 2)
    assert out.shape == (4, 3) and torch.equal(out[:, :2], h)
    assert out[0, 2] < 1e-3 and out[1, 2] == out[0, 2]  # two copies: no spread
    assert math.isclose(float(out[2, 2]), (1.0 + 2.0) / 2, rel_tol=1e-6) and out[3, 2] == out[2, 2]  # std 1, 2
    assert (minibatch_std(h[:3], 2)[:, 2] < 1e-3).all()  # 3 inputs: groups of gcd(3, 2) = 1
    same = torch.ones(4, 2, requires_grad=True)
    minibatch_std(same, 4).sum().backward()
    assert torch.isfinite(same.grad).all()  # a collapsed group still has finite gradients


def test_mbstd_lets_d_tell_a_collapsed_batch_from_a_varied_one() -> None:
    torch.manual_seed(0)
    _, d = build_models(ModelConfig(arch="mlp", mbstd=4), (1, 4, 4), loss="wgan-gp")
    d.eval()
    torch.nn.init.constant_(d.head.weight[:, -1:], 5.0)  # as if D had learned to read the spread
    x = torch.randn(4, 1, 4, 4)
    collapsed = x[:1].repeat(4, 1, 1, 1)
    varied = torch.cat([x[:1], x[1:]])
    assert d(collapsed)[0] != d(varied)[0]  # same first sample, other company


@pytest.mark.parametrize("loss", ["bce", "wgan-gp", "hinge", "lsgan"])
def test_every_loss_trains_with_packing_and_mbstd(loss: str) -> None:
    tr = Trainer(options_config("dcgan", loss, pack=2, mbstd=4, steps=4, log_every=2))
    assert tr.run() == "done"
    assert all(math.isfinite(v) for v in tr.history[-1].values())


@pytest.mark.parametrize("arch,loss", [("dcgan", "bce"), ("mlp", "wgan-gp")])
def test_exact_resume_with_packing_and_mbstd(tmp_path, arch: str, loss: str) -> None:
    full = Trainer(options_config(arch, loss, pack=2, mbstd=2, steps=10))
    full.run()
    first = Trainer(options_config(arch, loss, pack=2, mbstd=2, steps=5))
    first.run()
    path = save_checkpoint(first.state_dict(), tmp_path / "ckpt.pt")
    resumed = Trainer(options_config(arch, loss, pack=2, mbstd=2, steps=10))
    resumed.load_state_dict(load_checkpoint(path))
    resumed.run()
    for m_full, m_res in ((full.G, resumed.G), (full.D, resumed.D)):
        for a, b in zip(m_full.state_dict().values(), m_res.state_dict().values()):
            assert torch.equal(a, b)


def test_off_by_default_and_old_checkpoints_load(tmp_path) -> None:
    assert (ModelConfig().pack, ModelConfig().mbstd) == (1, 0)
    tr = Trainer(tiny_config("mlp", steps=2))
    tr.run()
    state = tr.state_dict()
    del state["config"]["model"]["pack"], state["config"]["model"]["mbstd"]  # a checkpoint from before the options
    path = save_checkpoint(state, tmp_path / "old.pt")
    again = Trainer(tiny_config("mlp", steps=4))
    again.load_state_dict(load_checkpoint(path))
    assert again.step_count == 2 and again.run() == "done"
    with pytest.raises(Exception, match="pack"):  # weights of a packing D do not fit a plain one
        Trainer(options_config("mlp", pack=2, steps=4)).load_state_dict(load_checkpoint(path))


@pytest.mark.parametrize("change,match", [
    ({"pack": 3}, "multiple of the packing"),  # batch 16
    ({"pack": 2, "mbstd": 3}, "multiple of the minibatch std group"),  # 8 inputs
    ({"mbstd": 1}, "group of 1"),
    ({"pack": 9}, "Packing"),
    ({"mbstd": 65}, "Minibatch std"),
    ({"pack": 2, "conditional": True}, "class head"),
])
def test_invalid_options_are_refused_with_what_to_do(change: dict, match: str) -> None:
    cond = "conditional" in change  # with a class head (AC-GAN)
    cfg = tiny_config("mlp", conditional=cond, class_weight=1.0 if cond else 0.0)
    for k, v in change.items():
        setattr(cfg.model, k, v)
    with pytest.raises(ConfigError, match=match):
        cfg.validate()


@pytest.mark.parametrize("arch,shape", [("dcgan", (3, 28, 28)), ("mlp-2d", (2, 1, 1))])
def test_d_width_widens_only_d_and_its_run_trains_and_refuses_other_widths(arch: str, shape: tuple) -> None:
    base = ModelConfig(arch=arch, latent_dim=2 if arch == "mlp-2d" else 16, width=8, pack=2)
    g, d = build_models(base, shape)
    g_wide, d_wide = build_models(dataclasses.replace(base, d_width=24), shape)
    assert [p.shape for p in g.parameters()] == [p.shape for p in g_wide.parameters()]  # G as before
    first = next(m for m in d_wide.body.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    assert first.weight.shape[0] == 24 and sum(p.numel() for p in d_wide.parameters()) > sum(
        p.numel() for p in d.parameters())
    assert d_wide(torch.randn(4, *shape)).shape == (2,)
    _, same = build_models(dataclasses.replace(base, d_width=8), shape)  # d_width == width: the plain D
    assert [p.shape for p in same.parameters()] == [p.shape for p in d.parameters()]


def test_d_width_is_refused_where_the_architecture_sizes_its_own_d(tmp_path) -> None:
    with pytest.raises(ConfigError, match="dcgan, mlp-2d"):
        ModelConfig(arch="upsample-conv", d_width=64).validate()
    tr = Trainer(options_config("dcgan", steps=2))
    tr.run()
    path = save_checkpoint(tr.state_dict(), tmp_path / "plain.pt")
    wide = options_config("dcgan", steps=4)
    wide.model.d_width = 16
    with pytest.raises(Exception, match="D width 8 vs 16"):  # a plain D's weights do not fit a wider one
        Trainer(wide).load_state_dict(load_checkpoint(path))
    same = options_config("dcgan", steps=4)
    same.model.d_width = 8  # G's width named: the same D, so the checkpoint loads
    resumed = Trainer(same)
    resumed.load_state_dict(load_checkpoint(path))
    assert resumed.step_count == 2
