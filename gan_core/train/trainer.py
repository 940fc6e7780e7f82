"""Trainer: the step loop around a run's state (models, optimizers, EMA, fixed noise, step counter, history)."""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..config import RunConfig
from ..data import ImageData, load_dataset
from ..device import faster_threads, free_memory
from ..errors import ConfigError, TrainingError
from ..limits import check_memory, training_bytes
from ..metric_names import EPOCH, STEP, TIME
from ..models import Generator, build_models
from ..models.clustered import CLUSTERS, ClusterGenerator
from ..models.fused import fuse_upsample_conv
from ..models.progressive import resolution_alpha, set_alpha
from .balance import ClusterBalance
from .batches import Batches
from .callbacks import LOG, Callback, default_callbacks
from .distributed import GO, STOP, TIME_UP, World, current, has_batchnorm, sync_batchnorm
from .ema import EMA
from .objective import Objective
from .optim import adam, schedule_lr
from .playground import Frame
from .point_callbacks import point_callbacks
from .runtime import Runtime
from .state import load_run_state, run_state_dict
from .step_metrics import StepMetrics, grad_norm

MIN_BATCH = 8  # smallest batch the out-of-memory fallback goes down to

# on_step(trainer, events): events is a set of what happened at this step (callbacks.LOG, GRID, SCORED).
StepHook = Callable[["Trainer", set[str]], None]


class Trainer:
    """One GAN training run; `step()` does n_critic D updates and one G update, `run()` loops with callbacks.

    Under torchrun (`world`, default: this process's process group) every rank runs a Trainer on its own shard
    with its own random stream, G and D under DDP; only rank 0 keeps callbacks and the EMA (see distributed.py)."""

    def __init__(self, config: RunConfig, data: ImageData | None = None,
                 progress: Callable[[float, str], None] | None = None, callbacks: list[Callback] | None = None,
                 world: World | None = None, untrained_balance: bool = False):
        """untrained_balance: the cluster balance's encoder and clusters left random (speed probes: a step's cost
        without the encoder's training)."""
        self.config = config.validate()
        t = config.train
        self.world = world if world is not None else current()
        self.runtime = Runtime.for_run(config, self.world)
        self.device = self.runtime.device
        torch.manual_seed(t.seed)  # initial weights (the same on every rank); dropout and the GP draw from it later
        self.rng = torch.Generator(self.device).manual_seed(self.world.seed(t.seed))  # batch indices and noise
        self.data = data if data is not None else load_dataset(config.data, progress)
        self.image_shape = self.data.shape  # (C, H, W)
        # Before any model or batch is allocated: a batch beyond memory is refused with the fix, not an allocator error.
        check_memory(f"Training at batch size {t.batch_size} on {self.image_shape[1]} x {self.image_shape[2]} images",
                     training_bytes(t.batch_size, self.image_shape, config.model.arch, config.model.width),
                     free_memory(self.device), fix="choose a smaller batch size, image size or width")
        self.num_classes = self.data.num_classes
        self.conditional = config.model.conditional and self.num_classes > 0
        balance = None  # the cluster balance's encoder and clusters, for its term or a cluster-conditioned G
        if untrained_balance and (t.cluster_balance > 0 or config.model.cluster_groups):
            balance = ClusterBalance.untrained(self.data, self.device)
        elif t.cluster_balance > 0 or config.model.cluster_groups:
            balance = ClusterBalance.for_data(self.data, self.device, progress)
        clusters = balance.clusters_of(self.data) if config.model.cluster_groups else None  # N x groups
        self.batches = Batches(self.data, self.runtime, self.rng, config.model.latent_dim, self.conditional,
                               self.world.shard, clusters)
        if t.half_res_steps and self.world.distributed:  # DDP needs every parameter used in every step
            raise ConfigError("Progressive resolution does not train under torchrun yet: set the half-resolution "
                              "steps to 0.")
        self.G, self.D = build_models(config.model, self.image_shape, self.num_classes, t.loss, t.class_weight > 0,
                                      progressive=t.half_res_steps > 0, r1=t.r1 > 0)
        if clusters is not None:
            assert isinstance(self.G, ClusterGenerator) and balance is not None and self.G.groups == balance.groups
            # G draws each group's clusters as often as the real images hold them (before the EMA's copy is made)
            self.G.set_prior(torch.stack([torch.bincount(c, minlength=CLUSTERS) for c in clusters.t()]).float())
        torch.manual_seed(self.world.seed(t.seed))  # from here on each rank draws its own dropout and GP mixes
        fuse_upsample_conv(self.G)  # (Upsample, 3x3 conv) pairs as one transposed conv: same function, fewer FLOPs
        self.runtime.place(self.G)
        self.runtime.place(self.D)
        self.sync_bn = [sync_batchnorm(m, self.world, self.device, t.sync_bn) for m in (self.G, self.D)]
        self.ema = EMA(self.G, t.ema) if t.ema > 0 and self.world.is_main else None
        self.opt_g = adam(self.G, t.lr_g, t, self.device)
        self.opt_d = adam(self.D, t.lr_d, t, self.device)
        synced = (self.world.wrap(self.G), self.world.wrap(self.D)) if self.world.distributed else None
        self.objective = Objective(self.G, self.D, t, self.runtime, self.batches.noise, self.rng, synced, balance)
        # One fixed-noise batch per run: grids are comparable across steps.
        self.fixed_z = torch.randn(t.num_fixed, config.model.latent_dim, generator=self.rng, device=self.device)
        self.fixed_y = (torch.arange(t.num_fixed, device=self.device) % self.num_classes) if self.conditional else None
        self.batch_size = t.batch_size
        self.step_count = 0
        self._set_resolution()  # the grids and scores before step 1 show what step 1 trains
        self.train_seconds = 0.0
        self.history: list[dict[str, float]] = []  # one entry per log interval (and per quality score, diversity)
        self.alerts: list[dict[str, Any]] = []
        self.latest_grid: torch.Tensor | None = None  # uint8 num_fixed x C x H x W, set by callbacks.FixedNoiseGrid
        self.latest_frame: Frame | None = None  # 2-D point runs: the playground's picture (point_callbacks)
        self.latest_copies: torch.Tensor | None = None  # uint8 2m x C x H x W: copies and originals (QualityScore)
        self.step_metrics = StepMetrics(t.log_every, self.device, self.world.mean_ if self.world.distributed else None)
        if self.runtime.confirm_threads and self.batches.stream is None:  # a stream's prefetch is not in the state
            self._confirm_threads()
        if not self.world.is_main:
            self.callbacks: list[Callback] = []
        else:
            defaults = point_callbacks if self.data.is_points else default_callbacks
            self.callbacks = defaults(config, self.data) if callbacks is None else list(callbacks)

    def _confirm_threads(self) -> None:
        """More than one CPU thread only where this run's own steps are faster on them (device.faster_threads); the
        steps timed are undone from a copy of the state exact resume restores, so the run starts as it would have."""
        saved = copy.deepcopy(self.state_dict())

        def step() -> None:
            self.step()
            self.step_metrics.discard()  # no flush: its buffer holds log_every steps

        threads = faster_threads(step, self.runtime.num_threads)
        self.load_state_dict(saved)
        self._set_resolution()
        self.runtime = dataclasses.replace(self.runtime, num_threads=threads, confirm_threads=False)

    # ---- schedule and description -------------------------------------------------------------------
    @property
    def total_steps(self) -> int:
        t = self.config.train
        if t.epochs is not None:
            return max(1, math.ceil(t.epochs * len(self.data) / (t.batch_size * self.world.size)))
        return int(t.steps)

    @property
    def epoch(self) -> float:
        return self.step_count * self.config.train.batch_size * self.world.size / max(1, len(self.data))

    @property
    def global_batch(self) -> int:
        """Images per step over all ranks: the per-rank batch_size times the world size."""
        return self.batch_size * self.world.size

    @property
    def hardware(self) -> str:
        """Runtime.hardware, e.g. 'CPU, 1 thread, fp32', and under torchrun the processes and the global batch."""
        if not self.world.distributed:
            return self.runtime.hardware
        norm = ""
        if has_batchnorm(self.G) or has_batchnorm(self.D):  # SyncBatchNorm needs CUDA (distributed.sync_batchnorm)
            norm = ", SyncBatchNorm" if any(self.sync_bn) else ", BatchNorm statistics per process"
        return (f"{self.runtime.hardware}, x {self.world.description}, batch {self.batch_size} per process, "
                f"global batch {self.global_batch}{norm}")

    @property
    def sampler(self) -> Generator:
        """The module to sample from: the EMA copy when enabled, else G (sampling.generate handles eval mode)."""
        return self.ema.module if self.ema is not None else self.G

    # ---- one iteration --------------------------------------------------------------------------------
    def step(self) -> None:
        """n_critic discriminator updates, then one generator update and the EMA; metrics stay on the device."""
        n_critic = self.config.train.n_critic
        r1_due = self.step_count % self.config.train.r1_every == 0  # lazy R1: on every r1_every-th step
        log_grads = self.step_metrics.wants_grads
        schedule_lr(self.opt_g, self.opt_d, self.config.train, self.step_count / self.total_steps)
        self._set_resolution()
        for i in range(n_critic):
            real, real_labels = self.batches.real(self.batch_size)  # B x C x H x W, B
            d_metrics, fakes = self.objective.d_phase(real, real_labels, keep_fakes=i == n_critic - 1, r1_due=r1_due)
            if log_grads and i == n_critic - 1:
                self.step_metrics.grad_norms[0] = grad_norm(self.D)
            self.opt_d.step()
        g_metrics = self.objective.g_phase(fakes)
        if log_grads:
            self.step_metrics.grad_norms[1] = grad_norm(self.G)
        self.opt_g.step()
        if self.ema is not None:
            self.ema.update(self.step_count)
        self.step_metrics.record(d_metrics | g_metrics)
        self.step_count += 1

    def _set_resolution(self) -> None:
        """Progressive runs: the full-resolution share for this step (models/progressive.py), in G, D and the EMA
        copy; a function of the step count alone, so a resumed run follows the same schedule."""
        t = self.config.train
        if t.half_res_steps:
            alpha = resolution_alpha(self.step_count, t.half_res_steps, t.fade_steps)
            set_alpha([self.G, self.D] + ([self.ema.module] if self.ema is not None else []), alpha)

    # ---- metrics --------------------------------------------------------------------------------------
    def flush_metrics(self) -> dict[str, float] | None:
        """Average the steps since the last flush into a history entry (one host sync); raise on non-finite values."""
        if self.step_metrics.count == 0:
            return None
        averages, alert = self.step_metrics.flush(self.step_count, self.global_batch)  # averaged over the ranks
        if alert is not None:
            self.add_alert(alert.kind, alert.step, alert.message)
            raise TrainingError(alert.message)
        entry = {STEP: self.step_count, EPOCH: round(self.epoch, 4), TIME: round(self.train_seconds, 3), **averages}
        self.report(entry)
        return entry

    def report(self, entry: dict[str, float]) -> None:
        """The one place metrics enter the history (losses every log step, scores, diversity); callbacks see each."""
        self.history.append(entry)
        for callback in self.callbacks:
            callback.on_report(self, entry)

    def add_alert(self, kind: str, step: int, message: str) -> None:
        self.alerts.append({"kind": kind, "step": step, "message": message})

    # ---- loop -----------------------------------------------------------------------------------------
    def run(self, should_stop: Callable[[], bool] = lambda: False, on_step: StepHook | None = None) -> str:
        """Train until total_steps, max_seconds or should_stop(); returns "done", "time" or "stopped".

        After each step: the metrics flush (every log_every steps), the callbacks, then on_step(self, events).
        """
        total = self.total_steps
        timed = [c for c in self.callbacks if c.timed]
        untimed = [c for c in self.callbacks if not c.timed]
        self.G.train()
        self.D.train()
        self.step_metrics.start_clock(self.step_count)
        try:
            reason = self._loop(should_stop, on_step, total, timed, untimed)
        except BaseException:
            for callback in self.callbacks:  # a failed run still lets them go (the quality worker's copy of G)
                try:
                    callback.on_end(self)
                except Exception:  # noqa: BLE001, S110 - the failure being raised is the one to report
                    pass
            raise
        self.flush_metrics()
        for callback in self.callbacks:
            callback.on_end(self)
        return reason

    def _loop(self, should_stop: Callable[[], bool], on_step: StepHook | None, total: int, timed: list[Callback],
              untimed: list[Callback]) -> str:
        """The steps of run(); returns its reason."""
        t = self.config.train
        reason = "done"
        stop_asked = False  # latched: under DDP a stop asked between log boundaries waits for the next one
        while self.step_count < total:
            stop_asked = stop_asked or should_stop()
            code = STOP if stop_asked else TIME_UP if t.max_seconds and self.train_seconds >= t.max_seconds else GO
            if self.world.distributed:  # a stop on any rank stops all, at the same step: the ranks agree on it at
                # each log interval's start, where the flush has just synced with the host anyway
                code = self.world.agree(code, self.device) if self.step_metrics.count == 0 else GO
            if code != GO:
                reason = "stopped" if code == STOP else "time"
                break
            started = time.perf_counter()
            try:
                self.step()
            except torch.OutOfMemoryError:
                self._halve_batch()
                continue
            events: set[str] = set()
            if self.step_metrics.full or self.step_count == total:
                self.flush_metrics()
                events.add(LOG)
            for callback in timed:
                callback.on_step(self, events)
            trained = time.perf_counter()
            self.train_seconds += trained - started
            for callback in untimed:
                callback.on_step(self, events)
            if on_step is not None:
                on_step(self, events)
            self.step_metrics.pause_clock(time.perf_counter() - trained)  # scores, saves and pauses are not throughput
        return reason

    def _halve_batch(self) -> None:
        """After running out of device memory: retry with half the batch, down to MIN_BATCH, then give up."""
        if self.world.distributed:  # the ranks would disagree on the batch and wait for each other forever
            raise TrainingError(f"Out of {self.device.type.upper()} memory at step {self.step_count + 1} with batch "
                                f"size {self.batch_size} per process: choose a smaller --batch-size.")
        self.step_metrics.discard()  # the failed step's partial metrics
        for opt in (self.opt_g, self.opt_d):
            opt.zero_grad(set_to_none=True)
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        if self.batch_size // 2 < MIN_BATCH:
            raise TrainingError(f"Out of {self.device.type.upper()} memory at step {self.step_count + 1} even with "
                                f"batch size {self.batch_size}: use a smaller image size or model, or the CPU.")
        self.batch_size //= 2
        self.add_alert("oom", self.step_count, f"Out of {self.device.type.upper()} memory: batch size halved to "
                       f"{self.batch_size}. Choose a smaller batch size to avoid this.")

    # ---- state (state.py: what a checkpoint keeps, and exact resume) ----------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything exact resume needs (state.run_state_dict), loadable with weights_only=True."""
        return run_state_dict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from a checkpoint's state (state.load_run_state); raises on mismatches."""
        load_run_state(self, state)

    def weights_finite(self) -> bool:
        """True when every parameter of G, D (and EMA) is finite: non-finite weights are never saved."""
        modules: list[nn.Module] = [self.G, self.D] + ([self.ema.module] if self.ema is not None else [])
        return all(bool(torch.isfinite(p).all()) for m in modules for p in m.parameters())
