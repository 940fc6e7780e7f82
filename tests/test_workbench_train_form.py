"""The Train page's form without a session: recipes on the chosen data, widget values <-> RunConfig."""

from __future__ import annotations

import pytest

from gan_core.config import DataConfig, RunConfig
from gan_core.errors import ConfigError
from gan_core.presets import PRESETS
from workbench.train_form import (
    AUGMENT_CHOICES,
    CUSTOM,
    LENGTH_KEY,
    apply_settings,
    conditional_possible,
    default_recipe,
    model_summary,
    recipe_config,
    recipe_label,
    recipe_names,
    recipe_note,
    settings_from_config,
)

NO_FOLDER_NEEDED = [name for name, p in PRESETS.items() if p.data["name"] not in ("celeba", "folder")]


def test_native_size_and_channels_take_the_recipes_values() -> None:
    # Left at "native" on the Data page (None): the Fashion DCGAN recipe trains at its 64 x 64.
    fashion = recipe_config("fashion-dcgan64", DataConfig(name="fashion_mnist", data_dir="/data/fashion"))
    assert fashion.data.image_size == 64 and fashion.data.data_dir == "/data/fashion"
    triangles = recipe_config("triangles-mlp", DataConfig(name="shapes", shapes_mode="triangles", num_samples=300))
    assert (triangles.data.image_size, triangles.data.channels, triangles.data.num_samples) == (28, 3, 300)


def test_a_size_or_channels_chosen_on_the_data_page_win_over_the_recipe() -> None:
    cfg = recipe_config("fashion-dcgan64", DataConfig(name="fashion_mnist", image_size=32, channels=3))
    assert (cfg.data.image_size, cfg.data.channels) == (32, 3)


def test_a_recipe_for_another_data_set_keeps_its_own_data_and_says_so() -> None:
    shapes = DataConfig(name="shapes", num_samples=128, image_size=16)
    cfg = recipe_config("fashion-dcgan64", shapes)
    assert (cfg.data.name, cfg.data.image_size) == ("fashion_mnist", 64)
    assert recipe_note("fashion-dcgan64", shapes) == (
        "This recipe trains on 'fashion_mnist', not on your chosen data set 'shapes'.")
    assert recipe_note("shapes-default", shapes) is None and recipe_note(CUSTOM, shapes) is None
    assert recipe_config("shapes-default", None) == recipe_config("shapes-default", DataConfig(name="mnist"))


def test_custom_trains_on_the_chosen_data_with_default_settings() -> None:
    shapes = DataConfig(name="shapes", num_samples=128, image_size=16)
    cfg = recipe_config(CUSTOM, shapes)
    assert cfg.data == shapes and cfg.preset is None and cfg.model.arch == "dcgan"
    assert recipe_config(CUSTOM, None).data == DataConfig()


def test_each_data_set_starts_from_its_default_recipe() -> None:
    assert default_recipe(None) == "shapes-default"
    assert default_recipe(DataConfig(name="mnist")) == "mnist-default"
    assert recipe_names()[-1] == CUSTOM and recipe_names()[:-1] == list(PRESETS)
    assert recipe_label(CUSTOM) == CUSTOM and recipe_label("mnist-default").startswith("mnist-default — Default")


@pytest.mark.parametrize("recipe", NO_FOLDER_NEEDED)
def test_the_widgets_show_a_recipe_and_give_it_back_unchanged(recipe: str) -> None:
    cfg = recipe_config(recipe, None)
    values = settings_from_config(cfg)
    assert all(isinstance(values[k], float) for k in ("train_lr_g", "train_beta1", "train_ema", "train_epochs"))
    assert apply_settings(cfg, values, custom=False) == cfg
    assert apply_settings(cfg, values, custom=True) == cfg


def test_the_form_values_override_the_recipe_and_length_picks_steps_or_epochs() -> None:
    cfg = recipe_config("shapes-default", None)
    values = {**settings_from_config(cfg), "train_batch_size": 16, "train_lr_g": 1e-3, "train_arch": "mlp",
              "train_loss": "hinge", LENGTH_KEY: "Epochs", "train_epochs": 2.5}
    recipe = apply_settings(cfg, values, custom=False)
    assert (recipe.train.batch_size, recipe.train.lr_g) == (16, 1e-3)
    assert (recipe.model.arch, recipe.train.loss) == ("dcgan", "bce")  # a recipe fixes architecture and loss
    assert (recipe.train.epochs, recipe.train.steps) == (2.5, None)
    custom = apply_settings(cfg, {**values, LENGTH_KEY: "Steps", "train_steps": 300}, custom=True)
    assert (custom.model.arch, custom.train.loss) == ("mlp", "hinge")
    assert (custom.train.steps, custom.train.epochs) == (300, None)
    assert cfg.train.batch_size == 32  # the recipe's config itself is left alone


def test_invalid_form_values_are_refused_by_validate() -> None:
    cfg = recipe_config("shapes-default", None)
    with pytest.raises(ConfigError, match="Learning rates above 1.0"):
        apply_settings(cfg, {"train_lr_d": 5.0}, custom=False)


def test_class_weight_and_augmentation_travel_from_the_form_and_are_checked() -> None:
    cfg = recipe_config("mnist-mlp-small", None)
    values = {**settings_from_config(cfg), "train_augment": "translation,cutout"}
    assert apply_settings(cfg, values, custom=False).train.augment == "translation,cutout"
    assert all(apply_settings(cfg, {**values, "train_augment": a}, custom=False) for a in AUGMENT_CHOICES)
    with pytest.raises(ConfigError, match="conditional model"):  # the tutorial MLP is not conditional
        apply_settings(cfg, {**values, "train_class_weight": 1.0}, custom=False)
    conditional = apply_settings(cfg, {**values, "train_class_weight": 1.0, "train_conditional": True}, custom=True)
    assert conditional.train.class_weight == 1.0 and conditional.model.conditional


def test_conditioning_needs_a_labeled_data_set() -> None:
    assert conditional_possible(None) and conditional_possible(DataConfig(name="cifar10"))
    assert not conditional_possible(DataConfig(name="folder", data_dir="x"))
    assert not conditional_possible(DataConfig(name="celeba", data_dir="x"))


def test_the_model_summary_names_what_matters() -> None:
    assert model_summary(recipe_config("shapes-default", None)) == (
        "Model: dcgan (conditional), bce loss + class loss 1, D sees translation views, latent 64, batch 32, "
        "8,000 steps, lr G/D 0.0004/0.0004, EMA 0.995, device auto, bf16 where faster.")
    cfg = RunConfig.from_dict(recipe_config("mnist-mlp-small", None).to_dict())
    cfg.model.conditional, cfg.train.steps, cfg.train.epochs, cfg.train.amp = True, None, 1.5, False
    summary = model_summary(cfg)
    assert summary.startswith("Model: mlp-small (conditional), bce loss") and "1.5 epochs" in summary
    assert summary.endswith(", fp32.")
