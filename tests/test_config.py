"""Config dataclasses and presets: validation messages, dict round trips, every recipe by name."""

from __future__ import annotations

import re

import pytest

from gan_core.config import RunConfig
from gan_core.errors import ConfigError
from gan_core.presets import PRESETS, default_preset_for, preset_config
from gan_core.settings import DOMAINS


def test_round_trip_through_dict() -> None:
    cfg = preset_config("fashion-dcgan64")
    again = RunConfig.from_dict(cfg.to_dict())
    assert again == cfg and again.train.real_label == 0.9 and again.data.image_size == 64


@pytest.mark.parametrize("section,key,value,needle", [
    ("train", "loss", "nope", "train.loss must be one of"),
    ("train", "lr_g", -1.0, r"Learning rate G \(train.lr_g\) must be from 1e-06 to 1 \(got -1\)"),
    ("train", "beta1", 1.5, r"train.beta1\) must be from 0 to 0.999"),
    ("train", "batch_size", 0, "train.batch_size"),
    ("data", "channels", 2, "data.channels"),
    ("data", "name", "imagenet", "data.name must be one of"),
    ("model", "arch", "resnet", "model.arch must be one of"),
])
def test_invalid_values_give_sentences_naming_the_field(section: str, key: str, value: object, needle: str) -> None:
    d = RunConfig().to_dict()
    d[section][key] = value
    with pytest.raises(ConfigError, match=needle):
        RunConfig.from_dict(d)


def test_unknown_keys_are_named() -> None:
    d = RunConfig().to_dict()
    d["train"]["learning_rate"] = 1e-3
    with pytest.raises(ConfigError, match="learning_rate"):
        RunConfig.from_dict(d)


def test_folder_needs_a_data_dir_and_conditional_needs_labels() -> None:
    with pytest.raises(ConfigError, match="No images chosen yet for 'Your own images': upload them, or name a") as err:
        preset_config("folder-default")
    assert "--data-dir" in err.value.for_cli() and "--" not in str(err.value)  # flags for the CLI only
    assert preset_config("folder-default", data_dir="/tmp/x").data.data_dir == "/tmp/x"
    cfg = preset_config("celeba-default", data_dir="/tmp/x")
    cfg.model.conditional = True
    with pytest.raises(ConfigError, match="labels"):
        cfg.validate()


def test_every_tutorial_recipe_and_data_set_default_exists() -> None:
    for name in ("mnist-mlp-small", "mnist-mlp-deep", "triangles-mlp", "cifar10-upsample-conv", "fashion-dcgan64",
                 "cifar10-wgan-gp"):
        assert name in PRESETS
    for ds in ("shapes", "mnist", "fashion_mnist", "cifar10", "celeba", "folder"):
        assert default_preset_for(ds) in PRESETS
    tutorial = preset_config("mnist-mlp-small")
    assert (tutorial.model.arch, tutorial.model.latent_dim, tutorial.train.batch_size) == ("mlp-small", 32, 32)
    fashion = preset_config("fashion-dcgan64")
    assert (fashion.model.latent_dim, fashion.model.width, fashion.train.batch_size) == (256, 64, 128)
    assert (fashion.train.real_label, fashion.train.fake_label) == (0.9, 0.1)
    wgan = preset_config("cifar10-wgan-gp")
    assert wgan.train.n_critic == 5 and wgan.train.gp_lambda == 10.0 and wgan.model.d_norm != "batch"


def test_unknown_preset_points_to_the_list() -> None:
    with pytest.raises(ConfigError, match="gan_core list"):
        preset_config("nope")


def test_wgan_gp_refuses_a_batchnorm_critic_with_what_to_do() -> None:
    cfg = preset_config("cifar10-wgan-gp")
    cfg.model.d_norm = "batch"
    with pytest.raises(ConfigError, match=r"WGAN-GP needs a critic without BatchNorm: set model.d_norm to"):
        cfg.validate()
    for d_norm in ("auto", "layer", "none"):  # what the message offers is accepted
        cfg.model.d_norm = d_norm
        cfg.validate()
    cfg.model.d_norm, cfg.train.loss = "batch", "bce"  # BatchNorm itself is fine for the other losses
    cfg.validate()


def _outside(low: float, high: float, integer: bool) -> list[float]:
    """Values just outside a domain, a non-finite one, and (for whole numbers) a fraction inside the range."""
    step = 1 if integer else max(abs(low), 1e-9) / 2
    values = [low - step, high + (1 if integer else high / 100 + 1e-9), float("nan"), float("inf")]
    if integer:
        values.append(low + 0.5)
    return values


@pytest.mark.parametrize("section,name", sorted(DOMAINS))
def test_every_numeric_setting_is_refused_outside_its_domain_and_accepted_at_its_bounds(section: str,
                                                                                         name: str) -> None:
    dom = DOMAINS[(section, name)]
    for bound in (dom.low, dom.high):
        d = RunConfig().to_dict()
        d[section][name] = int(bound) if dom.integer else bound
        if name == "epochs":
            d["train"]["steps"] = None
        d["model"]["conditional"] = True  # a class weight needs a conditional model
        if name == "cluster_groups":  # a G conditioned on clusters has no classes; 3 groups: stacked MNIST's channels
            d["model"]["conditional"], d["data"]["name"] = False, "stacked_mnist"
        if name == "fade_steps":
            d["train"]["half_res_steps"] = 1  # a fade-in follows a half-resolution phase
        RunConfig.from_dict(d)  # the bounds themselves are allowed
    for value in _outside(dom.low, dom.high, dom.integer):
        d = RunConfig().to_dict()
        d[section][name] = value
        with pytest.raises(ConfigError, match=rf"\({section}.{name}\) must be .*from {re.escape(dom.range_text)}"):
            RunConfig.from_dict(d)
