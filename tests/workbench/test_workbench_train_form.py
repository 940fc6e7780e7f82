"""The Train page's form without a session: recipes on the chosen data, widget values <-> RunConfig."""

from __future__ import annotations

import re

import pytest

from gan_core.config import DataConfig, RunConfig
from gan_core.errors import ConfigError
from gan_core.presets import PRESETS
from workbench.train_form import (
    AUGMENT_CHOICES,
    CUSTOM,
    LENGTH_KEY,
    NUMBERS,
    apply_settings,
    changed_settings,
    conditional_possible,
    default_recipe,
    device_choices,
    model_summary,
    parse_settings,
    recipe_config,
    recipe_data_line,
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
        "This recipe trains on Fashion-MNIST, not on your chosen data set (Shapes).")
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
    assert all(isinstance(values[k], str) for k in NUMBERS)  # numbers are shown as the text that is parsed
    assert apply_settings(cfg, values) == cfg


def test_the_form_values_override_the_recipe_and_length_picks_steps_or_epochs() -> None:
    cfg = recipe_config("shapes-default", None)
    values = {**settings_from_config(cfg), "train_batch_size": "16", "train_lr_g": "2e-3", "train_arch": "mlp",
              "train_loss": "hinge", LENGTH_KEY: "Epochs", "train_epochs": "2.5"}
    recipe = apply_settings(cfg, values)
    assert (recipe.train.batch_size, recipe.train.lr_g) == (16, 2e-3)
    assert (recipe.model.arch, recipe.train.loss) == ("mlp", "hinge")  # any recipe: architecture and loss too
    assert (recipe.train.epochs, recipe.train.steps) == (2.5, None)
    steps = apply_settings(cfg, {**values, LENGTH_KEY: "Steps", "train_steps": "300", "train_epochs": "junk"})
    assert (steps.train.steps, steps.train.epochs) == (300, None)  # the length not in use is not parsed
    assert cfg.train.batch_size == 32  # the recipe's config itself is left alone
    assert changed_settings(cfg, recipe) == [
        "Architecture dcgan → mlp", "Loss bce → hinge", "Batch size 32 → 16", "Learning rate G 0.001 → 0.002",
        "Epochs — → 2.5"]
    assert changed_settings(cfg, cfg) == []


@pytest.mark.parametrize("key", sorted(NUMBERS))
def test_every_numeric_field_refuses_text_outside_its_domain_with_the_true_range(key: str) -> None:
    cfg = recipe_config("shapes-default", None)
    dom = NUMBERS[key]
    length = {LENGTH_KEY: "Epochs"} if key == "train_epochs" else {}
    too_low = str(int(dom.low) - 1) if dom.integer else "-1"
    for text in (too_low, "1e30", "nan", "two"):
        values = {**settings_from_config(cfg), **length, key: text}
        _, errors = parse_settings(values)
        assert list(errors) == [key] and dom.range_text in errors[key] and dom.label in errors[key], errors
        with pytest.raises(ConfigError, match=re.escape(dom.range_text)):
            apply_settings(cfg, values)


def test_invalid_form_values_say_the_true_range_not_a_rounded_one() -> None:
    cfg = recipe_config("shapes-default", None)
    with pytest.raises(ConfigError, match=re.escape("Learning rate D must be from 1e-06 to 1 (got 0).")):
        apply_settings(cfg, {"train_lr_d": "0"})
    with pytest.raises(ConfigError, match=re.escape("Batch size must be from 2 to 4,096 (got 100,000).")):
        apply_settings(cfg, {"train_batch_size": "100000"})


def test_custom_starts_from_the_recipe_it_was_chosen_from_on_the_chosen_data() -> None:
    shapes = DataConfig(name="shapes", num_samples=128, image_size=16)
    custom = recipe_config(CUSTOM, shapes, base="fashion-dcgan64")
    fashion = recipe_config("fashion-dcgan64", None)
    assert custom.data == shapes and custom.preset is None
    assert (custom.model, custom.train) == (fashion.model, fashion.train)


def test_the_device_menu_offers_only_devices_present_and_names_the_others(monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    devices = device_choices()
    assert devices.usable == ["auto", "cpu"]
    assert devices.unusable == ("Not offered here: cuda (no CUDA GPU on this machine), mps (not an Apple GPU "
                                "machine).")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device_choices().usable == ["auto", "cpu", "cuda"]


def test_a_recipe_says_which_data_set_it_trains_on_and_whether_it_is_here(tmp_path) -> None:
    present, line = recipe_data_line(recipe_config("mnist-mlp-small", None))
    assert not present and line.startswith("Trains on mnist. MNIST is not on this machine yet: Start will try to "
                                           "download it, which needs the internet.")
    (tmp_path / "m").mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (tmp_path / "m" / name).write_bytes(b"")  # found by name; reading them is the loader's job
    present, line = recipe_data_line(recipe_config("mnist-mlp-small", DataConfig(name="mnist",
                                                                                 data_dir=str(tmp_path / "m"))))
    assert present and line == f"Trains on mnist, from {tmp_path / 'm'}. MNIST is on this machine."
    (tmp_path / "data" / "MNIST" / "raw").mkdir(parents=True)  # the data folder, in torchvision's layout
    (tmp_path / "m").rename(tmp_path / "data" / "MNIST" / "raw" / "files")
    for f in (tmp_path / "data" / "MNIST" / "raw" / "files").iterdir():
        f.rename(tmp_path / "data" / "MNIST" / "raw" / f.name)
    present, line = recipe_data_line(recipe_config("mnist-mlp-small", None))
    assert present and line == f"Trains on mnist. MNIST is on this machine ({tmp_path / 'data' / 'MNIST' / 'raw'})."
    assert recipe_data_line(recipe_config("shapes-default", None))[0]


def test_class_weight_and_augmentation_travel_from_the_form_and_are_checked() -> None:
    cfg = recipe_config("mnist-mlp-small", None)
    values = {**settings_from_config(cfg), "train_augment": "translation,cutout"}
    assert apply_settings(cfg, values).train.augment == "translation,cutout"
    assert all(apply_settings(cfg, {**values, "train_augment": a}) for a in AUGMENT_CHOICES)
    with pytest.raises(ConfigError, match="conditional model"):  # the tutorial MLP is not conditional
        apply_settings(cfg, {**values, "train_class_weight": "1"})
    conditional = apply_settings(cfg, {**values, "train_class_weight": "1", "train_conditional": True})
    assert conditional.train.class_weight == 1.0 and conditional.model.conditional


def test_conditioning_needs_a_labeled_data_set() -> None:
    assert conditional_possible(None) and conditional_possible(DataConfig(name="cifar10"))
    assert not conditional_possible(DataConfig(name="folder", data_dir="x"))
    assert not conditional_possible(DataConfig(name="celeba", data_dir="x"))


def test_the_model_summary_names_what_matters() -> None:
    assert model_summary(recipe_config("shapes-default", None)) == (
        "Model: dcgan (conditional), bce loss + class loss 3, D sees translation views, latent 64, batch 32, "
        "8,000 steps, lr G/D 0.001/0.001, EMA 0.995, device auto, bf16 where faster.")
    cfg = RunConfig.from_dict(recipe_config("mnist-mlp-small", None).to_dict())
    cfg.model.conditional, cfg.train.steps, cfg.train.epochs, cfg.train.amp = True, None, 1.5, False
    summary = model_summary(cfg)
    assert summary.startswith("Model: mlp-small (conditional), bce loss") and "1.5 epochs" in summary
    assert summary.endswith(", fp32.")
    # The terms that make a recipe what it is (stacked MNIST's: a cluster-conditioned G, feature matching, cluster
    # balance and guidance, PacGAN4).
    stacked = model_summary(recipe_config("stacked_mnist-default", DataConfig(name="stacked_mnist")))
    assert stacked.startswith("Model: dcgan (cluster-conditioned), bce loss + feature matching 10 + cluster balance 1 "
                              "+ cluster guidance 1, D judges packs of 4, latent 64")
    ring = model_summary(recipe_config("ring-default", DataConfig(name="ring")))
    assert "bce loss + R1 0.1, D judges packs of 2" in ring
