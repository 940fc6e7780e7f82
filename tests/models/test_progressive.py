"""Progressive resolution: the schedule, both phases' shapes, where the gradients go, and alpha travelling with G."""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import tiny_config

from gan_core.config import ModelConfig
from gan_core.errors import ConfigError
from gan_core.models import build_models
from gan_core.models.progressive import ProgressiveD, ProgressiveG, resolution_alpha, set_alpha

CONV_ARCHS = ["dcgan", "upsample-conv"]


def test_alpha_is_zero_in_the_half_phase_then_ramps_to_one() -> None:
    assert [resolution_alpha(s, 4, 4) for s in range(10)] == [0, 0, 0, 0, 0.25, 0.5, 0.75, 1, 1, 1]
    assert [resolution_alpha(s, 2, 0) for s in range(4)] == [0, 0, 1, 1]  # a hard switch
    assert resolution_alpha(0, 0, 0) == 1.0  # off: the full net from the start


def _models(arch: str, shape: tuple[int, int, int] = (3, 32, 32), conditional: bool = False):
    cfg = ModelConfig(arch=arch, latent_dim=16, width=8, conditional=conditional)
    return build_models(cfg, shape, num_classes=3 if conditional else 0, progressive=True)


@pytest.mark.parametrize("arch,shape", [("dcgan", (3, 32, 32)), ("dcgan", (1, 28, 28)), ("upsample-conv", (3, 32, 32))])
def test_both_phases_take_and_give_full_resolution_images(arch: str, shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    g, d = _models(arch, shape)
    g.eval()
    z = torch.randn(4, 16)
    for alpha in (0.0, 0.5, 1.0):
        set_alpha([g, d], alpha)
        x = g(z)
        assert x.shape == (4, *shape)
        assert d(x).shape == (4,)
    set_alpha([g], 0.0)
    x = g(z)  # the half phase: an S/2 image upsampled, so every 2 x 2 block holds one value
    assert torch.equal(x, torch.nn.functional.interpolate(x[:, :, ::2, ::2], scale_factor=2.0, mode="nearest"))
    set_alpha([g], 1.0)
    assert not torch.equal(g(z)[:, :, ::2], g(z)[:, :, 1::2])  # full resolution: rows differ


def _grads(module: torch.nn.Module) -> set[str]:
    """The parts (body, head, ...) of a progressive net whose parameters got a non-zero gradient."""
    return {name.split(".")[0] for name, p in module.named_parameters()
            if p.grad is not None and p.grad.abs().sum() > 0}


@pytest.mark.parametrize("arch", CONV_ARCHS)
@pytest.mark.parametrize("alpha,g_parts,d_parts", [
    (0.0, {"body", "to_rgb_half"}, {"from_rgb_half", "trunk"}),  # the full-resolution layers cost nothing
    (0.5, {"body", "to_rgb_half", "head"}, {"from_rgb_half", "stem", "trunk"}),
    (1.0, {"body", "head"}, {"stem", "trunk"}),
])
def test_gradients_reach_the_layers_of_the_phase(arch: str, alpha: float, g_parts: set, d_parts: set) -> None:
    torch.manual_seed(0)
    g, d = _models(arch)
    set_alpha([g, d], alpha)
    d(g(torch.randn(4, 16))).sum().backward()
    assert _grads(g.net) == g_parts
    assert _grads(d.body) == d_parts


def test_alpha_travels_with_the_weights_into_copies_and_state_dicts() -> None:
    g, d = _models("dcgan", conditional=True)
    set_alpha([g, d], 0.25)
    assert copy.deepcopy(g).net.alpha == 0.25  # the EMA copy, the quality worker's copy
    g2, d2 = _models("dcgan", conditional=True)
    g2.load_state_dict(g.state_dict())
    d2.load_state_dict(d.state_dict())
    assert (g2.net.alpha, d2.body.alpha) == (0.25, 0.25)
    assert isinstance(g2.net, ProgressiveG) and isinstance(d2.body, ProgressiveD)


def test_the_half_phase_counts_fewer_flops_per_step() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    from gan_core.train.trainer import Trainer

    flops = []
    for half in (0, 100):
        tr = Trainer(tiny_config("dcgan", size=32, half_res_steps=half))
        with FlopCounterMode(display=False) as counter:
            tr.step()
        flops.append(counter.get_total_flops())
    assert flops[1] < 0.95 * flops[0]


def test_settings_are_validated_with_what_to_do() -> None:
    with pytest.raises(ConfigError, match="follows steps at half resolution"):
        tiny_config("dcgan", fade_steps=10)  # a fade-in needs a half phase before it
    with pytest.raises(ConfigError, match="convolutional architecture"):
        tiny_config("mlp", half_res_steps=10)
    with pytest.raises(ConfigError, match="Steps at half resolution"):
        tiny_config("dcgan", half_res_steps=-1)
    assert tiny_config("dcgan", half_res_steps=10, fade_steps=5).train.fade_steps == 5


def test_the_command_line_refuses_a_fade_in_alone_in_one_line(tmp_path, capsys) -> None:
    from gan_core.cli.commands import main

    assert main(["train", "--dataset", "shapes", "--arch", "dcgan", "--fade-steps", "10", "--out",
                 str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "set --half-res-steps too" in err[0]
