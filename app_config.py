"""Recipes and Train-page settings as RunConfig: merging a preset with the chosen data, widget values <-> config.

No Streamlit here (app_state re-exports it for the pages), so it can be tested and reused without a session.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gan_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from gan_core.presets import DEFAULT_PRESET, PRESETS, default_preset_for, preset_config

CUSTOM = "Custom"


def dataset_summary(cfg: DataConfig | None) -> str:
    """One line naming the data set and the choices that matter (mode, count, folder, size)."""
    if cfg is None:
        return "none chosen yet"
    parts = [cfg.name]
    if cfg.name == "shapes":
        parts.append(f"{cfg.shapes_mode}, {cfg.num_samples:,} images")
    if cfg.data_dir:
        parts.append(f"from {cfg.data_dir}")
    if cfg.image_size:
        parts.append(f"{cfg.image_size}x{cfg.image_size}")
    return ", ".join(parts)


# Train-page widget key -> (config section, field). Pages read and write settings only through these keys.
SETTINGS: dict[str, tuple[str, str]] = {
    "train_arch": ("model", "arch"), "train_loss": ("train", "loss"), "train_width": ("model", "width"),
    "train_conditional": ("model", "conditional"), "train_latent_dim": ("model", "latent_dim"),
    "train_batch_size": ("train", "batch_size"), "train_lr_g": ("train", "lr_g"), "train_lr_d": ("train", "lr_d"),
    "train_beta1": ("train", "beta1"), "train_beta2": ("train", "beta2"), "train_steps": ("train", "steps"),
    "train_epochs": ("train", "epochs"), "train_real_label": ("train", "real_label"),
    "train_fake_label": ("train", "fake_label"), "train_n_critic": ("train", "n_critic"), "train_ema": ("train", "ema"),
    "train_device": ("train", "device"), "train_seed": ("train", "seed"), "train_sample_every": ("train", "sample_every"),
    "train_checkpoint_every": ("train", "checkpoint_every"), "train_amp": ("train", "amp"),
}
FLOAT_SETTINGS = {"train_lr_g", "train_lr_d", "train_beta1", "train_beta2", "train_epochs", "train_real_label",
                  "train_fake_label", "train_ema"}


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
    if recipe == CUSTOM or data is None:
        return None
    wanted = PRESETS[recipe].data.get("name")
    if wanted != data.name:
        return f"This recipe trains on '{wanted}', not on your chosen data set '{data.name}'."
    return None


def settings_from_config(cfg: RunConfig) -> dict[str, Any]:
    """Widget values showing cfg (the Train page writes these into session state when the recipe changes)."""
    values = {key: getattr(getattr(cfg, section), name) for key, (section, name) in SETTINGS.items()}
    values["train_length"] = "Epochs" if cfg.train.epochs is not None else "Steps"
    values["train_steps"] = int(cfg.train.steps or 2000)
    values["train_epochs"] = float(cfg.train.epochs or 1.0)
    return {k: float(v) if k in FLOAT_SETTINGS else v for k, v in values.items()}


def apply_settings(cfg: RunConfig, values: dict[str, Any], custom: bool) -> RunConfig:
    """cfg with the Train page's values on top; architecture/loss/width/conditional only for Custom. Validated."""
    cfg = cfg.copy()
    for key, (section, name) in SETTINGS.items():
        if key not in values or (not custom and key in ("train_arch", "train_loss", "train_width", "train_conditional")):
            continue
        setattr(getattr(cfg, section), name, values[key])
    if values.get("train_length") == "Epochs":
        cfg.train.steps = None
    else:
        cfg.train.epochs = None
    if cfg.train.loss == "wgan-gp" and cfg.model.d_norm == "batch":
        cfg.model.d_norm = "auto"  # BatchNorm breaks the per-sample gradient penalty (as the CLI does)
    return cfg.validate()
