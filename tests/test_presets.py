"""Presets: every recipe builds a valid config and models, and the tutorial recipes keep their documented settings."""

from __future__ import annotations

import re

import pytest
from torch import nn

from gan_core.config import DATASET_NAMES, POINT_DATASETS, RunConfig
from gan_core.models import build_models
from gan_core.presets import PRESETS, default_preset_for, preset_config

SHAPES = {"mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32)}

# The tutorials' own hyperparameters (docs/data.md "Recipes" and each preset's description); a change here changes what
# a user who follows the tutorial gets, so it must be deliberate.
TUTORIALS = {
    "mnist-mlp-small": dict(name="mnist", arch="mlp-small", latent_dim=32, loss="bce", lr_g=2e-4, lr_d=2e-4,
                            beta1=0.9, beta2=0.999, batch_size=32),
    "mnist-mlp-deep": dict(name="mnist", arch="mlp-deep", latent_dim=100, loss="bce", lr_g=1e-4, lr_d=1e-4,
                           beta1=0.9, beta2=0.999, batch_size=32),
    "triangles-mlp": dict(name="shapes", shapes_mode="triangles", image_size=28, channels=3, arch="mlp",
                          latent_dim=100, loss="bce", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, batch_size=64),
    "cifar10-upsample-conv": dict(name="cifar10", arch="upsample-conv", latent_dim=100, width=128, loss="bce",
                                  lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, batch_size=32),
    "fashion-dcgan64": dict(name="fashion_mnist", image_size=64, arch="dcgan", latent_dim=256, width=64, loss="bce",
                            lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, batch_size=128, real_label=0.9,
                            fake_label=0.1),
    "cifar10-wgan-gp": dict(name="cifar10", arch="dcgan", latent_dim=128, width=64, d_norm="layer", loss="wgan-gp",
                            lr_g=1e-4, lr_d=1e-4, beta1=0.0, beta2=0.9, batch_size=64, n_critic=5, gp_lambda=10.0),
}

# Layer sizes of the MLP tutorials (Linear in -> out, G then D), as their descriptions give them.
MLP_LAYERS = {
    "mnist-mlp-small": ([(32, 128), (128, 784)], [(784, 64), (64, 1)]),
    "mnist-mlp-deep": ([(100, 256), (256, 512), (512, 1024), (1024, 784)],
                       [(784, 2048), (2048, 1024), (1024, 512), (512, 256), (256, 1)]),
    "triangles-mlp": ([(100, 256), (256, 2352)], [(2352, 256), (256, 1)]),
}


def _setting(cfg: RunConfig, key: str) -> object:
    for section in (cfg.data, cfg.model, cfg.train):
        if hasattr(section, key):
            return getattr(section, key)
    raise KeyError(key)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_builds_a_valid_config_that_round_trips(name: str) -> None:
    needs_files = PRESETS[name].data["name"] in ("celeba", "folder")  # no download: the user gives a folder or zip
    cfg = preset_config(name, **({"data_dir": "/tmp/x"} if needs_files else {}))
    assert cfg.preset == name and RunConfig.from_dict(cfg.to_dict()) == cfg
    assert PRESETS[name].description.endswith(".")


@pytest.mark.parametrize("name", sorted(TUTORIALS))
def test_tutorial_presets_keep_their_documented_hyperparameters(name: str) -> None:
    cfg = preset_config(name)
    assert {k: _setting(cfg, k) for k in TUTORIALS[name]} == TUTORIALS[name]


@pytest.mark.parametrize("name", sorted(MLP_LAYERS))
def test_mlp_tutorials_build_their_documented_layer_sizes(name: str) -> None:
    cfg = preset_config(name)
    shape = (3, 28, 28) if cfg.data.name == "shapes" else SHAPES[cfg.data.name]
    g, d = build_models(cfg.model, shape, 0, cfg.train.loss)
    sizes = [[(m.in_features, m.out_features) for m in net.modules() if isinstance(m, nn.Linear)] for net in (g, d)]
    assert (sizes[0], sizes[1]) == MLP_LAYERS[name]
    assert any(isinstance(m, nn.Dropout) and m.p == 0.3 for m in d.modules()) == (name == "mnist-mlp-deep")


@pytest.mark.parametrize("dataset", DATASET_NAMES)
def test_every_data_set_has_a_default_preset_with_ema_sampling(dataset: str) -> None:
    p = PRESETS[default_preset_for(dataset)]
    if dataset in POINT_DATASETS:  # 2-D points: the point MLP with a packing D (PacGAN), fp32
        assert p.data["name"] == dataset and p.model["arch"] == "mlp-2d" and p.model["pack"] >= 2
        assert p.train["amp"] is False
        return
    assert p.data["name"] == dataset and p.train["ema"] > 0 and p.model["arch"] == "dcgan"


@pytest.mark.parametrize("name", [n for n in PRESETS if PRESETS[n].data["name"] in POINT_DATASETS])
def test_a_point_recipe_builds_the_d_width_its_description_names(name: str) -> None:
    """The description names D's width ("D of width 160") or says it is G's: the built D's hidden layers agree."""
    cfg = preset_config(name)
    _, d = build_models(cfg.model, (2, 1, 1), loss=cfg.train.loss)
    widths = {m.out_features for m in d.modules() if isinstance(m, nn.Linear)} - {1}  # hidden widths, not the head
    named = re.search(r"D of width (\d+)", PRESETS[name].description)
    assert widths == {int(named.group(1)) if named else cfg.model.width}, PRESETS[name].description
