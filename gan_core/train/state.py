"""A training run's state: what callbacks may see of it (a protocol the Trainer satisfies, so callbacks never import
it), and what a checkpoint keeps of it for exact resume."""

from __future__ import annotations

from typing import Any, Protocol

import torch

from ..data import ImageData
from ..models import Discriminator, Generator
from .compatible import check_compatible
from .ema import EMA
from .playground import Frame

FORMAT_VERSION = 1  # of the checkpoint dict run_state_dict makes


class RunState(Protocol):
    """The run as callbacks see it (Trainer implements it); the hooks in Callback take this, not the Trainer."""

    data: ImageData
    G: Generator
    D: Discriminator
    ema: EMA | None
    fixed_z: torch.Tensor  # num_fixed x latent_dim
    fixed_y: torch.Tensor | None  # num_fixed class labels, or None when unconditional
    step_count: int
    latest_grid: torch.Tensor | None  # uint8 num_fixed x C x H x W, set by callbacks.FixedNoiseGrid
    latest_frame: Frame | None  # 2-D point runs: the playground's picture, set by point_callbacks.PlaygroundFrame
    latest_copies: torch.Tensor | None  # uint8 2m x C x H x W likely copies beside their originals (QualityScore)

    @property
    def total_steps(self) -> int: ...

    @property
    def sampler(self) -> Generator: ...

    def report(self, entry: dict[str, float]) -> None: ...

    def add_alert(self, kind: str, step: int, message: str) -> None: ...


def run_state_dict(trainer: Any) -> dict[str, Any]:
    """Everything exact resume needs, as tensors and plain Python values (loadable with weights_only=True).

    The single-process format under torchrun too: the bare modules' weights and rank 0's random streams. Under
    torchrun only rank 0 calls this, so it cannot flush (a collective): Trainer.run flushes at every log step."""
    if not trainer.world.distributed:
        trainer.flush_metrics()
    return {
        "format_version": FORMAT_VERSION,
        "config": trainer.config.to_dict(),
        "image_shape": list(trainer.image_shape),
        "num_classes": trainer.num_classes,
        "class_names": list(trainer.data.class_names or []),
        "step": trainer.step_count,
        "epoch": trainer.epoch,
        "train_seconds": trainer.train_seconds,
        "batch_size": trainer.batch_size,
        "world_size": trainer.world.size,
        "G": trainer.G.state_dict(),
        "D": trainer.D.state_dict(),
        "EMA": None if trainer.ema is None else trainer.ema.state_dict(),
        "opt_G": trainer.opt_g.state_dict(),
        "opt_D": trainer.opt_d.state_dict(),
        "rng": {"torch": torch.get_rng_state(), "gen": trainer.rng.get_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
        "fixed_z": trainer.fixed_z.cpu(),
        "history": list(trainer.history),
        "alerts": list(trainer.alerts),
        "balance": None if trainer.objective.balance is None else trainer.objective.balance.state_dict(),
    }


def load_run_state(trainer: Any, state: dict[str, Any]) -> None:
    """Restore a Trainer from run_state_dict's dict (checkpoints.load_checkpoint); raises on mismatches."""
    check_compatible(state, trainer.config, trainer.image_shape, trainer.num_classes)
    trainer.G.load_state_dict(state["G"])
    trainer.D.load_state_dict(state["D"])
    if trainer.ema is not None:  # after G: the EMA takes G's buffers
        trainer.ema.load_state_dict(state["EMA"] if state.get("EMA") is not None else state["G"])
    trainer.opt_g.load_state_dict(state["opt_G"])
    trainer.opt_d.load_state_dict(state["opt_D"])
    world, seed, step = trainer.world, trainer.config.train.seed, int(state["step"])
    if world.is_main:  # rank 0's streams are saved; the other ranks start fresh ones at this step
        torch.set_rng_state(state["rng"]["torch"])
        trainer.rng.set_state(state["rng"]["gen"])
        if state["rng"].get("cuda") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    else:
        torch.manual_seed(world.seed(seed, step))
        trainer.rng.manual_seed(world.seed(seed, step))
    trainer.fixed_z = state["fixed_z"].to(trainer.device)
    trainer.step_count = step
    trainer.train_seconds = float(state.get("train_seconds", 0.0))
    trainer.batch_size = int(state.get("batch_size", trainer.batch_size))
    trainer.history = list(state.get("history", []))
    trainer.alerts = list(state.get("alerts", []))
    if trainer.objective.balance is not None and state.get("balance") is not None:
        trainer.objective.balance.load_state_dict(state["balance"])
    trainer.step_metrics.discard()
