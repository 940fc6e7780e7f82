"""The one declaration per setting (gan_core.settings) and per loss/architecture/data set (gan_core.catalog): every
place that lists them (validation, the CLI, the Train form, the builders) follows the declarations."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from gan_core import catalog
from gan_core.cli.args import RESUME_FIXED, build_parser, config_from_args
from gan_core.cli.commands import main
from gan_core.config import ARCH_NAMES, DATASET_NAMES, LOSS_NAMES, UNLABELED_DATASETS, RunConfig
from gan_core.errors import ConfigError
from gan_core.presets import PRESETS, default_preset_for, preset_config
from gan_core.settings import DOMAINS, SETTINGS
from workbench import train_form


def parse(*argv: str) -> RunConfig:
    return config_from_args(build_parser().parse_args(["train", *argv]))


def test_every_config_field_is_declared_once() -> None:
    from gan_core.config import DataConfig, ModelConfig, TrainConfig

    declared = [s.key for s in SETTINGS]
    assert len(declared) == len(set(declared))
    for section, cls in (("data", DataConfig), ("model", ModelConfig), ("train", TrainConfig)):
        # name and data_dir are chosen by --dataset/--data-dir; download by --no-download
        fields = {f.name for f in dataclasses.fields(cls)} - {"name", "data_dir", "download", "seed"} \
            if section == "data" else {f.name for f in dataclasses.fields(cls)}
        assert fields <= {n for s, n in declared if s == section}, (section, fields)


def test_the_cli_has_a_flag_for_each_declared_setting_and_it_reaches_the_config() -> None:
    cfg = parse("--dataset", "mnist", "--arch", "dcgan", "--conditional", "--class-weight", "0.5",
                "--augment", "translation,cutout", "--loss", "wgan-gp", "--gp-lambda", "5", "--d-norm", "layer",
                "--beta1", "0.1", "--real-label", "0.9", "--num-fixed", "16", "--log-every", "7", "--no-amp")
    assert cfg.model.conditional and cfg.train.class_weight == 0.5 and cfg.train.augment == "translation,cutout"
    assert (cfg.train.loss, cfg.train.gp_lambda, cfg.model.d_norm) == ("wgan-gp", 5.0, "layer")
    assert (cfg.train.beta1, cfg.train.real_label, cfg.train.num_fixed, cfg.train.log_every) == (0.1, 0.9, 16, 7)
    assert cfg.train.amp is False
    flags = {a.option_strings[0] for a in build_parser()._subparsers._group_actions[0].choices["train"]._actions
             if a.option_strings}
    assert {s.cli_flag for s in SETTINGS if s.flag} <= flags


def test_flags_left_out_keep_the_recipe() -> None:
    assert parse("--preset", "mnist-default").to_dict() == preset_config("mnist-default").to_dict()
    changed = parse("--preset", "mnist-default", "--ema", "0.5").to_dict()
    assert changed["train"].pop("ema") == 0.5
    assert changed == {**preset_config("mnist-default").to_dict(), "train": changed["train"]}


@pytest.mark.parametrize("argv,needle", [
    (["--augment", "blur"], "unknown augmentation blur"),
    (["--dataset", "celeba", "--data-dir", ".", "--arch", "dcgan", "--conditional"], "needs class labels"),
    (["--loss", "wgan-gp", "--d-norm", "batch"], "without BatchNorm"),
    (["--class-weight", "1"], "needs a conditional model"),
])
def test_new_flags_are_refused_with_the_rule(capsys, argv: list[str], needle: str) -> None:
    assert main(["train", *argv]) == 2
    assert needle in capsys.readouterr().err


def test_a_resume_refuses_every_fixed_flag_and_allows_the_others() -> None:
    assert {"--gp-lambda", "--class-weight", "--augment", "--conditional", "--d-norm", "--arch"} <= set(RESUME_FIXED)
    assert not {"--steps", "--max-seconds", "--device", "--quality-every", "--sample-every"} & set(RESUME_FIXED)


def test_the_train_form_offers_the_gradient_penalty_and_the_critic_normalisation() -> None:
    assert train_form.SETTINGS["train_gp_lambda"] == ("train", "gp_lambda")
    assert train_form.SETTINGS["train_d_norm"] == ("model", "d_norm")
    assert train_form.NUMBERS["train_gp_lambda"] is DOMAINS[("train", "gp_lambda")]
    assert train_form.CHOICES["train_d_norm"] == ["auto", "batch", "layer", "none"]
    cfg = train_form.apply_settings(RunConfig(), {"train_loss": "wgan-gp", "train_gp_lambda": "2.5",
                                                  "train_d_norm": "layer"})
    assert (cfg.train.gp_lambda, cfg.model.d_norm) == (2.5, "layer")
    with pytest.raises(ConfigError, match="Gradient penalty weight"):
        train_form.apply_settings(RunConfig(), {"train_gp_lambda": "-1"})


# ---- the catalog ----------------------------------------------------------------------------------------------------
def test_the_loss_flags_are_the_ones_each_loss_needs() -> None:
    # WGAN-GP alone has a critic (a raw score, no sigmoid) trained with the gradient penalty; the others take logits.
    assert {n for n, s in catalog.LOSSES.items() if s.critic} == {"wgan-gp"}
    assert {n for n, s in catalog.LOSSES.items() if s.needs_gp} == {"wgan-gp"}
    # stacked MNIST is built from the MNIST files, which torchvision can fetch
    assert {n for n, s in catalog.DATASETS.items() if s.downloads} == {"mnist", "fashion_mnist", "cifar10",
                                                                        "stacked_mnist"}
    assert catalog.POINT_DATASETS == ("ring", "grid", "spiral", "moons") and catalog.POINT_ARCH == "mlp-2d"


def test_the_names_come_from_the_catalog() -> None:
    assert LOSS_NAMES == tuple(catalog.LOSSES) and ARCH_NAMES == tuple(catalog.ARCHS)
    assert DATASET_NAMES == tuple(catalog.DATASETS)
    assert set(UNLABELED_DATASETS) == {"celeba", "folder"}


@pytest.mark.parametrize("name", list(catalog.DATASETS))
def test_each_data_set_has_its_default_recipe_and_resolvable_builders(name: str) -> None:
    spec = catalog.DATASETS[name]
    assert default_preset_for(name) in PRESETS and PRESETS[default_preset_for(name)].data["name"] == name
    assert callable(spec.load) and (spec.finder is None or callable(spec.find))
    assert spec.user_files == (not spec.labelled)  # today: the sets without labels are the user's own images


@pytest.mark.parametrize("name", list(catalog.ARCHS))
def test_each_architecture_builds_from_its_record_and_its_flag_matches_its_layers(name: str) -> None:
    from gan_core.config import ModelConfig
    from gan_core.models import build_models

    shape = (2, 1, 1) if catalog.ARCHS[name].points else (1, 32, 32)  # the point MLP draws 2-D points
    G, D = build_models(ModelConfig(arch=name, width=8, latent_dim=8, pack=2), shape)  # packing: D sees 2 at once
    assert D(torch.zeros(4, *shape)).shape[0] == 2
    convs = any(isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d) for m in [*G.modules(), *D.modules()])
    assert catalog.ARCHS[name].mlp == (not convs)  # the MLP flag decides memory, layout and threads


@pytest.mark.parametrize("name", list(catalog.LOSSES))
def test_each_loss_record_is_what_its_functions_do(name: str) -> None:
    from gan_core.train.losses import d_loss, g_loss, probabilities

    real, fake = torch.tensor([2.0, 1.0]), torch.tensor([-1.0, 0.5])
    assert torch.isfinite(d_loss(name, real, fake)) and torch.isfinite(g_loss(name, fake))
    spec = catalog.LOSSES[name]
    # a critic's score is shown raw (it may leave [0, 1]); logits go through the sigmoid
    expected = real.mean() if spec.critic else torch.sigmoid(real).mean()
    assert probabilities(name, real).item() == pytest.approx(expected.item())
    cfg = RunConfig()
    cfg.train.loss, cfg.model.d_norm = name, "batch"
    if spec.needs_gp:
        with pytest.raises(ConfigError, match="without BatchNorm"):
            cfg.validate()
    else:
        cfg.validate()
