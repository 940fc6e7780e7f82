"""A run's generator rebuilt from its checkpoint for sampling: EMA weights when saved, CPU, eval mode."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..config import RunConfig
from ..data import to_uint8
from ..data.base import POINT_SHAPE
from ..latent import default_labels
from ..models import Generator, build_models
from ..models.fused import fuse_upsample_conv
from .checkpoints import load_checkpoint


@dataclass
class LoadedGenerator:
    """A generator rebuilt from a checkpoint for sampling (EMA weights when saved), CPU, eval mode."""

    generator: Generator
    config: RunConfig
    step: int
    class_names: list[str]
    state: dict[str, Any]

    @torch.no_grad()
    def images(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """uint8 N x C x H x W from latents z (N x d) and, for conditional models, labels (N,)."""
        if self.generator.num_classes and labels is None:
            labels = default_labels(self.generator, z.shape[0])
        return to_uint8(self.generator(z, labels))

    @property
    def is_points(self) -> bool:
        """A generator of 2-D points (the mlp-2d architecture) rather than images."""
        return self.generator.image_shape == POINT_SHAPE

    @torch.no_grad()
    def points(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """float32 N x 2 coordinates from latents z (N x d), for a point generator."""
        if self.generator.num_classes and labels is None:
            labels = default_labels(self.generator, z.shape[0])
        return self.generator(z, labels).reshape(-1, 2).float()


def generator_from_state(state: dict[str, Any]) -> LoadedGenerator:
    """Build the generator described by a loaded checkpoint state and load its (EMA) weights."""
    cfg = RunConfig.from_dict(state["config"])
    g, _ = build_models(cfg.model, tuple(state["image_shape"]), int(state.get("num_classes", 0)), cfg.train.loss,
                        progressive=cfg.train.half_res_steps > 0)
    g.load_state_dict(state["EMA"] if state.get("EMA") is not None else state["G"])  # progressive: alpha too
    fuse_upsample_conv(g)  # as the Trainer computes it: the same samples, bit for bit
    g.eval().requires_grad_(False)
    return LoadedGenerator(g, cfg, int(state["step"]), list(state.get("class_names") or []), state)


def load_generator(path: str | Path) -> LoadedGenerator:
    """Load a checkpoint file (weights_only) and return its sampling generator."""
    return generator_from_state(load_checkpoint(path))
