"""Whether a checkpoint's weights fit the model a run builds now (checked by Trainer.load_state_dict before loading)."""

from __future__ import annotations

from typing import Any

from ..config import RunConfig
from ..errors import CheckpointError
from ..models import resolve_d_norm

GENERATOR_ONLY = "generator_only"  # marks an export of the sampling generator alone (runs/export.py): never resumed


def check_compatible(state: dict[str, Any], config: RunConfig, image_shape: tuple[int, int, int],
                     num_classes: int) -> None:
    """Raise CheckpointError naming every difference that makes the checkpoint's weights unusable here."""
    if state.get(GENERATOR_ONLY):  # no D, no optimizer states
        raise CheckpointError("This file holds only a generator, exported for sampling (export --format generator): "
                              "it cannot be resumed; resume from the run's own checkpoint, or start a new run.")
    saved = RunConfig.from_dict(state["config"])
    diffs = []
    for key in ("arch", "latent_dim", "width", "depth", "conditional", "pack", "mbstd"):
        a, b = getattr(saved.model, key), getattr(config.model, key)
        if a != b:
            diffs.append(f"{key} {a} vs {b}")
    d_widths = [c.model.d_width or c.model.width for c in (saved, config)]  # 0 means G's width
    if d_widths[0] != d_widths[1]:
        diffs.append(f"D width {d_widths[0]} vs {d_widths[1]}")
    if (saved.train.half_res_steps > 0) != (config.train.half_res_steps > 0):  # the half-resolution layers
        diffs.append(f"half-resolution steps {saved.train.half_res_steps} vs {config.train.half_res_steps}")
    saved_shape = tuple(state["image_shape"])
    if saved_shape[0] != image_shape[0]:
        diffs.append(f"channels {saved_shape[0]} vs {image_shape[0]}")
    if saved_shape[1:] != tuple(image_shape[1:]):
        diffs.append(f"image size {saved_shape[1]} vs {image_shape[1]}")
    if saved.model.conditional and int(state.get("num_classes", 0)) != num_classes:
        diffs.append(f"classes {state.get('num_classes')} vs {num_classes}")
    before, now = (resolve_d_norm(c.model, c.train.loss, c.train.r1 > 0) for c in (saved, config))
    if before != now:  # 'auto' resolves by the loss and the R1 penalty: BatchNorm's weights come and go with it
        diffs.append(f"D's normalisation {before} vs {now} (loss {saved.train.loss} vs {config.train.loss}, R1 "
                     f"{saved.train.r1:g} vs {config.train.r1:g})")
    if diffs:
        raise CheckpointError("The checkpoint does not match this model (checkpoint vs now): " + "; ".join(diffs) + ".")
