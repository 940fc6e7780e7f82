"""Training across processes with torchrun: process group, ranks, data shards, DDP, SyncBatchNorm, stopping together."""

from __future__ import annotations

import gc
import os
import re
import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import NoReturn

import torch
import torch.distributed as dist
from torch import nn

from ..device import resolve_device
from ..errors import ConfigError, TrainingError

TIMEOUT_ENV = "GAN_WORKBENCH_DIST_TIMEOUT"
# How long a rank waits in a collective before it gives up. Generous: while rank 0 alone primes the quality scorer,
# scores and saves, the others wait at their next collective. A rank that dies is noticed sooner (its sockets close,
# and torchrun stops the others).
DEFAULT_TIMEOUT_S = 600.0
LAUNCH_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")  # what torchrun sets for every worker

# What the ranks agree on at each log interval (the largest code wins): go on, max_seconds reached, stop requested.
GO, TIME_UP, STOP = 0, 1, 2


@dataclass(frozen=True)
class World:
    """This process's place in a torchrun job; World() is a plain single-process run."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0  # which GPU of this machine (CUDA)
    backend: str = ""  # "nccl" or "gloo" under torchrun

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 writes grids, metrics, logs and checkpoints, and keeps the EMA, health checks and scores."""
        return self.rank == 0

    @property
    def description(self) -> str:
        """'2 processes (gloo)', or '' for a single process."""
        return f"{self.size} processes ({self.backend})" if self.distributed else ""

    def seed(self, seed: int, step: int = 0) -> int:
        """The seed of this rank's random stream: rank 0 keeps the run's seed (so its fixed noise is a single-process
        run's), the others get their own, also different for each step a run resumes at."""
        if self.rank == 0:
            return seed
        return ((seed * 1_000_003 + self.rank) * 1_000_003 + step) % 2**63

    @property
    def shard(self) -> slice:
        """This rank's share of a data set's images: every size-th image from rank on (disjoint, together all)."""
        return slice(self.rank, None, self.size)

    def agree(self, code: int, device: torch.device) -> int:
        """The largest of every rank's code (GO, TIME_UP, STOP), so all ranks leave the loop at the same step."""
        if not self.distributed:
            return code
        flag = torch.tensor([code], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item())

    def all(self, flag: bool, device: torch.device) -> bool:
        """True when `flag` is true on every rank (a choice each rank measured, e.g. bf16, taken by all or none)."""
        return self.agree(int(not flag), device) == 0

    def mean_(self, values: torch.Tensor) -> torch.Tensor:
        """Average a tensor over the ranks, in place (gloo has no AVG: a sum, then a division)."""
        if self.distributed:
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
            values /= self.size
        return values

    def wrap(self, module: nn.Module) -> nn.Module:
        """module under DistributedDataParallel (its gradients averaged over the ranks), or module itself.

        No buffer broadcast: BatchNorm running statistics are used only in eval mode, which only rank 0 uses (grids,
        scores, checkpoints); SyncBatchNorm keeps them equal anyway. Every parameter gets a gradient in each synced
        backward, so DDP need not search for unused ones."""
        if not self.distributed:
            return module
        device = next(module.parameters()).device
        ids = [device] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids, forward_sync_buffers=False)


def launched() -> bool:
    """True in a process that torchrun started (its environment names a rank and a world size)."""
    return all(name in os.environ for name in LAUNCH_ENV)


def env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1")) if launched() else 1


def launch_rank() -> int:
    """This process's rank as torchrun set it (0 without torchrun); valid before the process group exists."""
    return int(os.environ["RANK"]) if launched() else 0


def rank_prefix() -> str:
    """'rank 1 of 2: ' for messages of a torchrun worker (read from the environment: valid before and after the
    process group), else ''."""
    size = env_world_size()
    return f"rank {os.environ['RANK']} of {size}: " if size > 1 else ""


def timeout() -> timedelta:
    """The collectives' timeout: $GAN_WORKBENCH_DIST_TIMEOUT seconds, else DEFAULT_TIMEOUT_S."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    try:
        seconds = float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        raise ConfigError(f"${TIMEOUT_ENV} must be a number of seconds, got {raw!r}.") from None
    if seconds <= 0:
        raise ConfigError(f"${TIMEOUT_ENV} must be positive, got {raw!r}.")
    return timedelta(seconds=seconds)


def setup(device_name: str = "auto") -> World:
    """Join the torchrun job this process belongs to (NCCL on CUDA, gloo on the CPU); World() without torchrun.

    A torchrun job of one process trains as a plain single process."""
    if not launched() or env_world_size() == 1:
        return World()
    if dist.is_initialized():
        return current()
    device = resolve_device(device_name)
    if device.type not in ("cuda", "cpu"):
        raise ConfigError(f"Training with torchrun needs CUDA GPUs or the CPU, not {device.type.upper()}: "
                          "pass --device cuda or --device cpu.")
    local_rank = int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ConfigError(f"torchrun started more processes on this machine than it has GPUs "
                              f"({torch.cuda.device_count()}): lower --nproc_per_node.")
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=timeout())
    return current()


def current() -> World:
    """The World of this process's process group, or World() when there is none."""
    if not (dist.is_available() and dist.is_initialized()):
        return World()
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")),
                 str(dist.get_backend()))


def teardown() -> None:
    """Leave the process group (if any); safe to call twice."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def exit_process(code: int) -> NoReturn:
    """End this process with exit status `code`: a torchrun rank leaves without the interpreter's finalization.

    gloo's worker threads outlive destroy_process_group, and one may drop its reference to the last collective's
    tensor a moment after the collective returned (late on a loaded machine). Dropped during finalization, that
    reference takes the GIL of a dying interpreter and the rank aborts: SIGABRT, "terminate called without an active
    exception" (pytorch/pytorch#190489), and torchrun fails the whole job after it ended well. So, like
    multiprocessing's children, a rank leaves with os._exit once its run is written and its output flushed."""
    if env_world_size() == 1:
        sys.exit(code)
    gc.collect()  # release what the run held while the interpreter is whole (streamed data: DataLoader workers stop)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def has_batchnorm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def sync_batchnorm(module: nn.Module, world: World, device: torch.device, enabled: bool = True) -> bool:
    """Turn module's BatchNorm layers into SyncBatchNorm in place (batch statistics over all ranks' batches); True
    when it did. Only under DDP on CUDA: PyTorch's SyncBatchNorm has no CPU kernels, so CPU ranks keep per-rank
    statistics. Parameters and buffers are the same objects and names, so checkpoints keep their format."""
    if not (enabled and world.distributed and device.type == "cuda" and has_batchnorm(module)):
        return False
    for name, child in list(module.named_children()):  # the wrappers (Generator, Discriminator) are never BatchNorm
        setattr(module, name, nn.SyncBatchNorm.convert_sync_batchnorm(child))
    return True


def peer_failure(error: BaseException, world: World) -> TrainingError | None:
    """The user-facing form of a failed collective (another rank died, was killed, or timed out), else None."""
    if not world.distributed or not isinstance(error, RuntimeError):
        return None
    text = str(error)
    known = ("gloo", "NCCL", "Connection", "timed out")
    if not isinstance(error, dist.DistError) and not any(k in text for k in known):
        return None
    # gloo's first line: "[.../pair.cc:545] Read error [127.0.0.1]:37292: Connection reset by peer. This is ..."
    first = re.sub(r"^\[[^\]]*\]\s*", "", text.strip().splitlines()[0]) if text.strip() else ""
    reason = first.split(". ")[0][:160] or type(error).__name__
    return TrainingError(f"lost contact with the other ranks ({reason}): another rank failed, was killed or took "
                         f"longer than ${TIMEOUT_ENV} ({timeout().total_seconds():.0f} s). The job stops; resume "
                         "it from the run's last checkpoint.")
