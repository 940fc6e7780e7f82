"""The Train page's form: recipes merged with the chosen data, widget values <-> RunConfig, starting a run from it."""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from gan_core.config import (
    ARCH_NAMES,
    DEVICE_NAMES,
    LOSS_NAMES,
    UNLABELED_DATASETS,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
)
from gan_core.errors import UserError
from gan_core.models import ARCHITECTURES
from gan_core.presets import DEFAULT_PRESET, PRESETS, default_preset_for, preset_config
from gan_core.runs import new_run_name
from workbench.data import chosen_data, config_key
from workbench.jobs import start_training

CUSTOM = "Custom"
LENGTHS = ["Steps", "Epochs"]  # the "Train for" choice
RECIPE_KEY, RUN_NAME_KEY, LENGTH_KEY = "train_preset", "train_run_name", "train_length"
DATA_SEEN_KEY = "train_data_key"  # the data choice the form was last reset for
ARCH_CHOICES, LOSS_CHOICES, DEVICE_CHOICES = list(ARCH_NAMES), list(LOSS_NAMES), list(DEVICE_NAMES)
ARCH_HELP = "; ".join(f"{k}: {v}" for k, v in ARCHITECTURES.items())

# Train-page widget key -> (config section, field). Pages read and write settings only through these keys.
SETTINGS: dict[str, tuple[str, str]] = {
    "train_arch": ("model", "arch"), "train_loss": ("train", "loss"), "train_width": ("model", "width"),
    "train_conditional": ("model", "conditional"), "train_latent_dim": ("model", "latent_dim"),
    "train_batch_size": ("train", "batch_size"), "train_lr_g": ("train", "lr_g"), "train_lr_d": ("train", "lr_d"),
    "train_beta1": ("train", "beta1"), "train_beta2": ("train", "beta2"), "train_steps": ("train", "steps"),
    "train_epochs": ("train", "epochs"), "train_real_label": ("train", "real_label"),
    "train_fake_label": ("train", "fake_label"), "train_n_critic": ("train", "n_critic"), "train_ema": ("train", "ema"),
    "train_class_weight": ("train", "class_weight"), "train_augment": ("train", "augment"),
    "train_device": ("train", "device"), "train_seed": ("train", "seed"),
    "train_sample_every": ("train", "sample_every"), "train_checkpoint_every": ("train", "checkpoint_every"),
    "train_amp": ("train", "amp"),
}
CUSTOM_ONLY = ("train_arch", "train_loss", "train_width", "train_conditional")  # a recipe fixes these
FLOAT_SETTINGS = {"train_lr_g", "train_lr_d", "train_beta1", "train_beta2", "train_epochs", "train_real_label",
                  "train_fake_label", "train_ema", "train_class_weight"}
# What the augmentation menu offers (augment.AUGMENTS combined as DiffAugment's papers use them); "" is none.
AUGMENT_CHOICES = ["", "translation", "translation,cutout", "color,translation,cutout"]


# ---- recipes and settings (no session: testable alone) ---------------------------------------------------------------
def recipe_names() -> list[str]:
    """Every preset, then Custom."""
    return [*PRESETS, CUSTOM]


def recipe_label(name: str) -> str:
    return name if name == CUSTOM else f"{name} — {PRESETS[name].description}"


def default_recipe(data: DataConfig | None) -> str:
    name = default_preset_for(data.name) if data is not None else DEFAULT_PRESET
    return name if name in PRESETS else DEFAULT_PRESET


def recipe_config(recipe: str, data: DataConfig | None) -> RunConfig:
    """The recipe's config on the chosen data: the user's data choice wins when the recipe is for the same set.

    A recipe written for another data set keeps its own data section (see recipe_note). Image size and channels
    left at "native" on the Data page take the recipe's values (e.g. 64x64 for the Fashion DCGAN recipe).
    """
    if recipe == CUSTOM:
        return RunConfig(data or DataConfig(), ModelConfig(), TrainConfig(), None).validate()
    preset = PRESETS[recipe]
    if data is None or data.name != preset.data.get("name"):
        return preset_config(recipe)
    chosen = {k: v for k, v in dataclasses.asdict(data).items() if not (k in ("image_size", "channels") and v is None)}
    return preset_config(recipe, **chosen)


def recipe_note(recipe: str, data: DataConfig | None) -> str | None:
    """A warning when the recipe trains on another data set than the chosen one, else None."""
    if recipe == CUSTOM or data is None:
        return None
    wanted = PRESETS[recipe].data.get("name")
    if wanted != data.name:
        return f"This recipe trains on '{wanted}', not on your chosen data set '{data.name}'."
    return None


def settings_from_config(cfg: RunConfig) -> dict[str, Any]:
    """Widget values showing cfg (the Train page writes these into session state when the recipe changes)."""
    values = {key: getattr(getattr(cfg, section), name) for key, (section, name) in SETTINGS.items()}
    values[LENGTH_KEY] = "Epochs" if cfg.train.epochs is not None else "Steps"
    values["train_steps"] = int(cfg.train.steps or 2000)
    values["train_epochs"] = float(cfg.train.epochs or 1.0)
    return {k: float(v) if k in FLOAT_SETTINGS else v for k, v in values.items()}


def apply_settings(cfg: RunConfig, values: dict[str, Any], custom: bool) -> RunConfig:
    """cfg with the Train page's values on top; architecture/loss/width/conditional only for Custom. Validated."""
    cfg = cfg.copy()
    for key, (section, name) in SETTINGS.items():
        if key in values and (custom or key not in CUSTOM_ONLY):
            setattr(getattr(cfg, section), name, values[key])
    if values.get(LENGTH_KEY) == "Epochs":
        cfg.train.steps = None
    else:
        cfg.train.epochs = None
    return cfg.validate()


def conditional_possible(data: DataConfig | None) -> bool:
    """Whether the data set has class labels to condition on (no choice yet: the default, shapes, has)."""
    return (data or DataConfig()).name not in UNLABELED_DATASETS


def model_summary(cfg: RunConfig) -> str:
    """One line: the model and the settings that matter."""
    m, t = cfg.model, cfg.train
    length = f"{t.epochs:g} epochs" if t.epochs is not None else f"{t.steps:,} steps"
    extras = (f" + class loss {t.class_weight:g}" if t.class_weight else "") + (
        f", D sees {t.augment.replace(',', ', ')} views" if t.augment else "")
    return (f"Model: {m.arch}{' (conditional)' if m.conditional else ''}, {t.loss} loss{extras}, "
            f"latent {m.latent_dim}, batch {t.batch_size}, {length}, lr G/D {t.lr_g:g}/{t.lr_d:g}, EMA {t.ema:g}, "
            f"device {t.device}"
            + (", bf16 where faster." if t.amp else ", fp32."))


# ---- the form in the session -----------------------------------------------------------------------------------------
def load_recipe(name: str) -> None:
    """Fill every setting widget with the recipe's values and suggest a fresh run name (UserError if it cannot be)."""
    cfg = recipe_config(name, chosen_data())
    st.session_state[RECIPE_KEY] = name
    st.session_state.update(settings_from_config(cfg))
    st.session_state[RUN_NAME_KEY] = new_run_name(cfg)


def follow_data_choice(data: DataConfig | None) -> None:
    """On a first visit or a new data choice, reset the form to that data set's default recipe.

    Raises UserError when that recipe cannot use the data; the form then holds the app's default recipe.
    """
    key = config_key(data)
    if st.session_state.get(DATA_SEEN_KEY) == key and RECIPE_KEY in st.session_state:
        return
    st.session_state[DATA_SEEN_KEY] = key
    try:
        load_recipe(default_recipe(data))
    except UserError:
        load_recipe(DEFAULT_PRESET)
        raise


def form_config() -> RunConfig:
    """The RunConfig the form describes (validated; UserError with the fix otherwise)."""
    recipe = st.session_state[RECIPE_KEY]
    values = {k: st.session_state[k] for k in [*SETTINGS, LENGTH_KEY] if k in st.session_state}
    return apply_settings(recipe_config(recipe, chosen_data()), values, custom=recipe == CUSTOM)


def start_from_form() -> None:
    """Start the run the form describes under its run name (a fresh one when empty); then suggest the next name."""
    cfg = form_config()
    name = (st.session_state.get(RUN_NAME_KEY) or "").strip() or new_run_name(cfg)
    start_training(cfg, name)
    st.session_state[RUN_NAME_KEY] = new_run_name(cfg)  # the next run gets a fresh folder
