"""Architectures: shapes for 1/3 channels at 28/32/64 px, logits (no Sigmoid), tutorial sizes, conditional forms."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan_core.config import ModelConfig
from gan_core.errors import ConfigError
from gan_core.models import build_models
from gan_core.models.fused import UpsampledConv2d, fuse_upsample_conv


@pytest.mark.parametrize("arch", ["mlp-small", "mlp", "mlp-deep", "upsample-conv", "dcgan"])
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 28, 28), (1, 32, 32), (3, 32, 32), (3, 64, 64)])
def test_generator_and_discriminator_shapes(arch: str, shape: tuple) -> None:
    g, d = build_models(ModelConfig(arch=arch, latent_dim=16, width=8), shape)
    x = g(torch.randn(4, 16))
    assert x.shape == (4, *shape) and x.min() >= -1 and x.max() <= 1
    out = d(x)
    assert out.shape == (4,)
    assert not any(isinstance(m, nn.Sigmoid) for m in d.modules())


def test_tutorial_layer_sizes() -> None:
    g, d = build_models(ModelConfig(arch="mlp-small", latent_dim=32), (1, 28, 28))
    assert [m.out_features for m in g.modules() if isinstance(m, nn.Linear)] == [128, 784]
    assert [m.out_features for m in d.modules() if isinstance(m, nn.Linear)] == [64, 1]
    g, d = build_models(ModelConfig(arch="mlp-deep", latent_dim=100), (1, 28, 28))
    assert [m.out_features for m in g.modules() if isinstance(m, nn.Linear)] == [256, 512, 1024, 784]
    assert [m.out_features for m in d.modules() if isinstance(m, nn.Linear)] == [2048, 1024, 512, 256, 1]
    assert {m.p for m in d.modules() if isinstance(m, nn.Dropout)} == {0.3}
    g, _ = build_models(ModelConfig(arch="mlp", latent_dim=100), (3, 28, 28))
    assert [m.out_features for m in g.modules() if isinstance(m, nn.Linear)] == [256, 28 * 28 * 3]


def test_dcgan_width_and_critic_normalisation() -> None:
    g, d = build_models(ModelConfig(arch="dcgan", latent_dim=256, width=64), (1, 64, 64))
    first = next(m for m in g.modules() if isinstance(m, nn.ConvTranspose2d))
    assert (first.in_channels, first.out_channels) == (256, 512)
    assert any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    _, critic = build_models(ModelConfig(arch="dcgan", width=8), (3, 32, 32), loss="wgan-gp")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())


def test_conditional_models_use_labels() -> None:
    g, d = build_models(ModelConfig(arch="dcgan", latent_dim=16, width=8, conditional=True), (1, 28, 28), 10)
    z = torch.randn(2, 16).repeat(2, 1)
    y = torch.tensor([0, 0, 5, 5])
    g.eval()
    x = g(z, y)
    assert not torch.allclose(x[0], x[2])  # same noise, other class -> other image
    d.eval()
    same = x[:1].repeat(2, 1, 1, 1)
    out = d(same, torch.tensor([0, 5]))
    assert torch.equal(out[0], out[1])  # the projection starts at zero: labels matter once D has learned them
    torch.nn.init.normal_(d.embed.weight)  # as after training
    out = d(same, torch.tensor([0, 5]))
    assert not torch.allclose(out[0], out[1])  # same image, other class -> other logit


def test_unsupported_size_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="not supported"):
        build_models(ModelConfig(arch="dcgan"), (3, 30, 30))


@pytest.mark.parametrize("channels_last", [False, True])
def test_fused_upsample_conv_computes_the_same_function_and_gradients(channels_last: bool) -> None:
    torch.manual_seed(0)
    cfg = ModelConfig(arch="upsample-conv", latent_dim=16, width=16)
    ref, _ = build_models(cfg, (3, 28, 28))  # 7 -> 14 -> 28: odd sizes check the borders
    fused, _ = build_models(cfg, (3, 28, 28))
    fused.load_state_dict(ref.state_dict())
    assert fuse_upsample_conv(fused) == 2
    assert sum(isinstance(m, UpsampledConv2d) for m in fused.modules()) == 2
    assert not any(isinstance(m, nn.Upsample) for m in fused.modules())
    assert list(fused.state_dict()) == list(ref.state_dict())  # checkpoints load into either form
    if channels_last:
        fused.to(memory_format=torch.channels_last)
    ref = ref.double()
    fused = fused.double()
    z = torch.randn(5, 16, dtype=torch.float64)
    out_ref, out_fused = ref(z), fused(z)
    torch.testing.assert_close(out_fused, out_ref, rtol=1e-10, atol=1e-10)
    out_ref.square().sum().backward()
    out_fused.square().sum().backward()
    for (name, a), b in zip(ref.named_parameters(), fused.parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-9, atol=1e-9, msg=name)


def test_only_upsample_then_3x3_conv_pairs_are_fused() -> None:
    g, d = build_models(ModelConfig(arch="dcgan", latent_dim=16, width=8), (3, 32, 32))
    assert fuse_upsample_conv(g) == 0 and fuse_upsample_conv(d) == 0
    bilinear = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(4, 4, 3, 1, 1))
    strided = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(4, 4, 3, 2, 1))
    assert fuse_upsample_conv(bilinear) == 0 and fuse_upsample_conv(strided) == 0
