"""How a run computes: device, CPU threads, bf16 autocast, memory format and torch.compile, decided once."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import nn

from ..catalog import ARCHS
from ..config import RunConfig
from ..device import cpu_threads, fast_bf16, pin_threads, resolve_device
from .distributed import World

M = TypeVar("M", bound=nn.Module)


@dataclass(frozen=True)
class Runtime:
    """The compute decisions of one run; the Trainer and the Objective ask it instead of deciding again."""

    device: torch.device
    num_threads: int  # torch's intra-op threads in the training thread
    amp: bool  # bf16 autocast around forward passes; weights and the optimizers stay fp32
    channels_last: bool  # NHWC models and batches
    compile: bool  # torch.compile the forward passes
    confirm_threads: bool = False  # more than 1 CPU thread, to be confirmed by timing the run's own steps

    @classmethod
    def for_run(cls, config: RunConfig, world: World | None = None) -> Runtime:
        """Decide for `config`; applies the thread count to the calling thread (OpenMP counts are per thread).
        Under torchrun on CUDA each process takes the GPU of its local rank."""
        t = config.train
        device = resolve_device(t.device)
        if device.type == "cuda" and world is not None and world.distributed:
            device = torch.device("cuda", world.local_rank)
        confirm = False
        if device.type == "cpu":
            threads, confirm = cpu_threads(config)
            pin_threads(threads)  # the training thread is often new (the app's job thread)
        elif device.type == "cuda":  # fixed shapes: let cuDNN pick the fastest algorithms once
            torch.backends.cudnn.benchmark = True
        conv = not ARCHS[config.model.arch].mlp
        # NHWC: on CUDA when asked; on the CPU always for the conv nets, where oneDNN's convolutions measured faster.
        channels_last = conv and (device.type == "cpu" or (t.channels_last and device.type == "cuda"))
        # bf16 only where it measures faster (device.fast_bf16); fp16 would need loss scaling, which GAN losses
        # tolerate badly, so elsewhere the switch is ignored.
        amp = t.amp and fast_bf16(device)
        if world is not None:  # each rank probed alone: all ranks compute alike or the run would depend on the rank
            amp = world.all(amp, device)
        # Under torchrun the ranks keep the rule's count: each timing its own steps could pick differently.
        confirm = confirm and not (world is not None and world.distributed)
        return cls(device, torch.get_num_threads(), amp, channels_last, t.compile and device.type == "cuda", confirm)

    @property
    def hardware(self) -> str:
        """Where and how this run computes, e.g. 'CPU, 1 thread, fp32' or 'CUDA, bf16 mixed precision, compiled'."""
        parts = [self.device.type.upper()]
        if self.device.type == "cpu":
            parts.append(f"{self.num_threads} thread{'s' if self.num_threads != 1 else ''}")
        parts.append("bf16 mixed precision" if self.amp else "fp32")
        if self.compile:
            parts.append("compiled")
        return ", ".join(parts)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The precision context for forward passes: bf16 autocast when amp, else nothing."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16) if self.amp else contextlib.nullcontext()

    def place(self, module: M) -> M:
        """Move a model to the device, in the run's memory format (in place; returns it)."""
        module.to(self.device)
        if self.channels_last:
            module.to(memory_format=torch.channels_last)
        return module

    def batch(self, images: torch.Tensor) -> torch.Tensor:
        """A B x C x H x W batch in the run's memory format."""
        return images.contiguous(memory_format=torch.channels_last) if self.channels_last else images

    def compiled(self, module: nn.Module) -> nn.Module:
        """The callable to run `module`'s forward with: compiled when the run compiles, else the module itself."""
        return torch.compile(module) if self.compile else module
