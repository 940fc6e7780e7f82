"""Trainer: owns data on the device, G, D, optimizers, EMA, fixed noise and the step loop (no threads here)."""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .config import RunConfig
from .data import ImageData, data_root, load_dataset, to_float, to_uint8
from .device import cpu_threads, fast_bf16, resolve_device
from .errors import TrainingError
from .losses import d_loss, g_loss, gradient_penalty, probabilities
from .metrics import HealthMonitor, QualityScorer, diversity
from .models import Generator, build_models
from .models.fused import fuse_upsample_conv

# Stable metric names, in the order the per-step device buffer stores them.
STEP_METRICS = ("loss/D", "loss/G", "D(x)", "D(G(z))")
FORMAT_VERSION = 1
MIN_BATCH = 8  # smallest batch the out-of-memory fallback goes down to

# on_step(trainer, events): events is a set of what happened at this step: "log", "grid", "quality".
StepHook = Callable[["Trainer", set[str]], None]


class Trainer:
    """One GAN training run; `step()` does n_critic D updates and one G update, `run()` loops with hooks."""

    def __init__(self, config: RunConfig, data: ImageData | None = None, progress: Callable[[float, str], None] | None = None):
        self.config = config.validate()
        t = config.train
        self.device = resolve_device(t.device)
        if self.device.type == "cpu":  # set in the training thread: OpenMP thread counts are per thread
            torch.set_num_threads(cpu_threads(config.model.arch))
        elif self.device.type == "cuda":  # fixed shapes: let cuDNN pick the fastest algorithms once
            torch.backends.cudnn.benchmark = True
        self.num_threads = torch.get_num_threads()
        torch.manual_seed(t.seed)
        self.gen = torch.Generator(self.device).manual_seed(t.seed)  # batch indices and noise
        self.data = data if data is not None else load_dataset(config.data, progress)
        self.image_shape = self.data.shape  # (C, H, W)
        self.num_classes = self.data.num_classes
        # The whole set lives on the device as uint8 (4x smaller than float); batches are drawn by index.
        self.images = self.data.images.to(self.device)  # N x C x H x W uint8
        self.labels = None if self.data.labels is None else self.data.labels.to(self.device)
        self.conditional = config.model.conditional and self.num_classes > 0
        self.G, self.D = build_models(config.model, self.image_shape, self.num_classes, t.loss)
        # upsample-conv's (Upsample, 3x3 conv) pairs as one transposed conv: same function and state_dict, 2.25x
        # fewer multiply-adds in those layers (bench/speed.py: cifar10-upsample-conv steps ~1.5x faster on the CPU).
        fuse_upsample_conv(self.G)
        self.G.to(self.device)
        self.D.to(self.device)
        # NHWC: on CUDA when asked; on the CPU always for the conv nets (oneDNN convs measured 1.2-1.4x faster).
        conv = not config.model.arch.startswith("mlp")
        self.channels_last = conv and ((t.channels_last and self.device.type == "cuda") or self.device.type == "cpu")
        if self.channels_last:
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
        self.ema = copy.deepcopy(self.G).eval().requires_grad_(False) if t.ema > 0 else None
        # Fused Adam: one kernel for all parameters (CPU: 1.2-1.4x faster steps for the MLPs than foreach).
        fused = self.device.type in ("cuda", "cpu")
        self.opt_g = torch.optim.Adam(self.G.parameters(), t.lr_g, (t.beta1, t.beta2), foreach=not fused, fused=fused or None)
        self.opt_d = torch.optim.Adam(self.D.parameters(), t.lr_d, (t.beta1, t.beta2), foreach=not fused, fused=fused or None)
        self._g_params = [p for p in self.G.parameters() if p.requires_grad]
        self._d_params = [p for p in self.D.parameters() if p.requires_grad]
        # Without batch statistics in D (MLPs, the WGAN-GP critic) real and fake go through D as one batch:
        # the same result, half the calls and no gradient accumulation between two D graphs.
        self._joint_d = not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.D.modules())
        self._g_step = self.G
        self._d_step = self.D
        if t.compile and self.device.type == "cuda":
            self._g_step = torch.compile(self.G)
            # Double backward through a compiled critic is unreliable: the gradient penalty stays eager.
            self._d_step = self.D if t.loss == "wgan-gp" else torch.compile(self.D)
        # bf16 mixed precision where it is faster (CUDA GPUs with bf16; CPUs where device.fast_bf16's probe measures
        # it: the conv nets trained 1.6-2.5x faster on an AMD EPYC with AVX512-BF16, same quality on MNIST). Weights
        # and the optimizer stay fp32. Elsewhere the switch is ignored: fp16 would need loss scaling that GAN losses
        # tolerate badly.
        self.amp = t.amp and fast_bf16(self.device)
        # One fixed-noise batch per run: grids are comparable across steps.
        self.fixed_z = torch.randn(t.num_fixed, config.model.latent_dim, generator=self.gen, device=self.device)
        self.fixed_y = (torch.arange(t.num_fixed, device=self.device) % self.num_classes) if self.conditional else None
        self.batch_size = t.batch_size
        self.step_count = 0
        self.train_seconds = 0.0
        self.history: list[dict[str, float]] = []  # one entry per log interval (and per quality score)
        self.alerts: list[dict[str, Any]] = []
        self.latest_grid: torch.Tensor | None = None  # uint8 num_fixed x C x H x W
        # Per-step metrics stay on the device until the next log step: no host sync in the hot loop.
        self._buf = torch.zeros(t.log_every, len(STEP_METRICS), device=self.device)
        self._buf_n = 0
        self._grad_norms = torch.zeros(2, device=self.device)
        self._last_log_time = time.perf_counter()
        self._last_log_step = 0
        self.quality: QualityScorer | None = None  # built on first use: real statistics are cached on disk
        self.quality_samples = 1000
        self.cache_dir: Path | None = data_root() / "stats"
        # Alerts compare the fixed-noise grid's diversity with the real set's (same 64-ish sample size).
        self.health: HealthMonitor | None = HealthMonitor(
            real_diversity=diversity(self.data.images, max_samples=t.num_fixed), num_classes=self.num_classes or None)

    # ---- schedule -------------------------------------------------------------------------------
    @property
    def total_steps(self) -> int:
        t = self.config.train
        if t.epochs is not None:
            return max(1, math.ceil(t.epochs * len(self.data) / t.batch_size))
        return int(t.steps)

    @property
    def epoch(self) -> float:
        return self.step_count * self.config.train.batch_size / max(1, len(self.data))

    @property
    def hardware(self) -> str:
        """Where and how this run computes, e.g. 'CPU, 1 thread, fp32' or 'CUDA, bf16 mixed precision, compiled'."""
        parts = [self.device.type.upper()]
        if self.device.type == "cpu":
            parts.append(f"{self.num_threads} thread{'s' if self.num_threads != 1 else ''}")
        parts.append("bf16 mixed precision" if self.amp else "fp32")
        if self._g_step is not self.G:
            parts.append("compiled")
        return ", ".join(parts)

    # ---- one iteration --------------------------------------------------------------------------
    def _batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        idx = torch.randint(self.images.shape[0], (self.batch_size,), device=self.device, generator=self.gen)
        real = to_float(self.images.index_select(0, idx))  # B x C x H x W in [-1, 1]; 2-3x faster than [idx]
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        return real, (self.labels[idx] if self.conditional else None)

    def _noise(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = torch.randn(n, self.config.model.latent_dim, device=self.device, generator=self.gen)
        y = (torch.randint(self.num_classes, (n,), device=self.device, generator=self.gen)
             if self.conditional else None)
        return z, y

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def step(self) -> None:
        """n_critic discriminator updates, then one generator update; metrics stay on the device."""
        t = self.config.train
        log_grads = (self._buf_n + 1) == t.log_every
        amp = self._autocast if self.amp else contextlib.nullcontext
        b = self.batch_size
        fake = fy = None
        for i in range(t.n_critic):
            real, ry = self._batch()
            z, fy = self._noise(b)
            reuse = i == t.n_critic - 1 and t.loss != "wgan-gp"
            with amp():
                if reuse:  # keep the graph: the G step reuses this fake batch (one G forward per step)
                    fake = self._g_step(z, fy)
                else:
                    with torch.no_grad():
                        fake = self._g_step(z, fy)
                if self._joint_d:  # one D call on 2B images: B real then B fake
                    both = self._d_step(torch.cat([real, fake.detach()]), None if ry is None else torch.cat([ry, fy]))
                    d_real, d_fake = both[:b], both[b:]
                else:  # BatchNorm: real and fake batches keep separate statistics
                    d_real = self._d_step(real, ry)
                    d_fake = self._d_step(fake.detach(), fy)
                loss_d = d_loss(t.loss, d_real.float(), d_fake.float(), t.real_label, t.fake_label)
            if t.loss == "wgan-gp":  # under autocast too (PyTorch's AMP recipe): 1.36x faster critic steps in bf16
                with amp():
                    gp = gradient_penalty(self.D, real, fake.float(), ry)
                loss_d = loss_d + t.gp_lambda * gp.float()
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward(inputs=self._d_params)
            if log_grads and i == t.n_critic - 1:
                self._grad_norms[0] = _grad_norm(self.D)
            self.opt_d.step()
        with amp():
            if t.loss == "wgan-gp":  # critic steps used detached fakes: one fresh G forward for the G step
                z, fy = self._noise(b)
                fake = self._g_step(z, fy)
            d_gen = self._d_step(fake, fy)
            loss_g = g_loss(t.loss, d_gen.float())
        self.opt_g.zero_grad(set_to_none=True)
        # inputs=G's parameters: autograd skips D's weight gradients, which the G step never uses.
        loss_g.backward(inputs=self._g_params)
        if log_grads:
            self._grad_norms[1] = _grad_norm(self.G)
        self.opt_g.step()
        if self.ema is not None:
            with torch.no_grad():
                torch._foreach_lerp_(list(self.ema.parameters()), list(self.G.parameters()), 1.0 - t.ema)
        with torch.no_grad():  # written in place into the device buffer: no host sync
            torch.stack([loss_d.detach().float(), loss_g.detach().float(),
                         probabilities(t.loss, d_real.detach().float()), probabilities(t.loss, d_fake.detach().float())],
                        out=self._buf[self._buf_n])
        self._buf_n += 1
        self.step_count += 1

    # ---- metrics --------------------------------------------------------------------------------
    def flush_metrics(self) -> dict[str, float] | None:
        """Read the device buffer (one host sync), append the averages to history; raise on non-finite values."""
        if self._buf_n == 0:
            return None
        rows = self._buf[: self._buf_n].tolist()  # the only sync: n x 4
        grads = self._grad_norms.tolist()
        first = self.step_count - self._buf_n + 1
        for k, row in enumerate(rows):
            if not all(math.isfinite(v) for v in row):
                bad = STEP_METRICS[next(j for j, v in enumerate(row) if not math.isfinite(v))]
                self._buf_n = 0
                self._add_alert("nan", first + k, f"{bad} became non-finite at step {first + k}: training stopped. "
                                "Lower the learning rates (e.g. 2e-4), or switch to WGAN-GP.")
                raise TrainingError(self.alerts[-1]["message"])
        now = time.perf_counter()
        n = self._buf_n
        entry: dict[str, float] = {"step": self.step_count, "epoch": round(self.epoch, 4), "time": round(self.train_seconds, 3)}
        for j, name in enumerate(STEP_METRICS):
            entry[name] = sum(r[j] for r in rows) / n
        entry["grad/D"], entry["grad/G"] = grads
        steps = self.step_count - self._last_log_step
        entry["img/s"] = steps * self.batch_size / max(now - self._last_log_time, 1e-9)
        self._last_log_time, self._last_log_step = now, self.step_count
        self._buf_n = 0
        self.report(entry)
        return entry

    def report(self, entry: dict[str, float]) -> None:
        """The one place metrics enter the history (losses every log step, quality every K steps)."""
        self.history.append(entry)
        if self.health is not None:
            for alert in self.health.update(int(entry["step"]), entry):
                self._add_alert(alert.kind, alert.step, alert.message)

    def _add_alert(self, kind: str, step: int, message: str) -> None:
        self.alerts.append({"kind": kind, "step": step, "message": message})

    # ---- sampling -------------------------------------------------------------------------------
    @property
    def sampler(self) -> Generator:
        """The module to sample from: the EMA copy when enabled, else G (callers use eval + no_grad)."""
        return self.ema if self.ema is not None else self.G

    @torch.no_grad()
    def sample_fixed(self, g: Generator | None = None) -> torch.Tensor:
        """uint8 num_fixed x C x H x W from the fixed noise, in eval mode (BatchNorm running statistics).

        g defaults to the sampling generator (EMA when enabled); pass self.G for what training produces now.
        """
        g = g if g is not None else self.sampler
        was_training = g.training
        if self.ema is not None:  # BatchNorm running statistics come from the trained G
            for b_ema, b in zip(self.ema.buffers(), self.G.buffers()):
                b_ema.copy_(b)
        g.eval()
        out = to_uint8(g(self.fixed_z, self.fixed_y).float()).cpu()
        g.train(was_training)
        return out

    def generator_snapshot(self) -> Generator:
        """A CPU copy of the sampling generator in eval mode, safe to use from another thread."""
        self.sample_fixed()  # syncs EMA buffers
        snap = copy.deepcopy(self.sampler).cpu().eval().requires_grad_(False)
        return snap

    @torch.no_grad()
    def sample(self, n: int, chunk: int = 500) -> torch.Tensor:
        """uint8 n x C x H x W fresh samples from the sampling generator (eval mode), drawn in chunks."""
        g = self.sampler
        was_training = g.training
        g.eval()
        out = []
        for start in range(0, n, chunk):
            k = min(chunk, n - start)
            z = torch.randn(k, self.config.model.latent_dim, device=self.device)
            y = torch.randint(self.num_classes, (k,), device=self.device) if self.conditional else None
            out.append(to_uint8(g(z, y).float()).cpu())
        g.train(was_training)
        return torch.cat(out)

    def measure_quality(self) -> dict[str, float]:
        """Score quality_samples fresh samples against the real set (statistics cached on disk) and report it."""
        if self.quality is None:
            self.quality = QualityScorer(self.data, self.cache_dir)
        rng = torch.get_rng_state()  # scoring must not change the training's random stream (exact resume)
        cuda_rng = torch.cuda.get_rng_state_all() if self.device.type == "cuda" else None
        self.sample_fixed()  # syncs the EMA copy's BatchNorm statistics
        entry: dict[str, float] = {"step": self.step_count}
        entry.update(self.quality.score(self.sample(self.quality_samples)))
        torch.set_rng_state(rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
        self.report(entry)
        return entry

    # ---- loop -----------------------------------------------------------------------------------
    def run(self, should_stop: Callable[[], bool] = lambda: False, on_step: StepHook | None = None) -> str:
        """Train until total_steps, max_seconds or should_stop(); returns "done", "time" or "stopped"."""
        t = self.config.train
        total = self.total_steps
        self.G.train()
        self.D.train()
        self._last_log_time, self._last_log_step = time.perf_counter(), self.step_count
        while self.step_count < total:
            if should_stop():
                self.flush_metrics()
                return "stopped"
            if t.max_seconds is not None and self.train_seconds >= t.max_seconds:
                self.flush_metrics()
                return "time"
            started = time.perf_counter()
            try:
                self.step()
            except torch.OutOfMemoryError:
                self._halve_batch()
                continue
            events: set[str] = set()
            if self._buf_n == t.log_every or self.step_count == total:
                self.flush_metrics()
                events.add("log")
            if self.step_count % t.sample_every == 0 or self.step_count == total or self.latest_grid is None:
                self.latest_grid = self.sample_fixed()
                events.add("grid")
            self.train_seconds += time.perf_counter() - started
            if "grid" in events and self.health is not None:
                # Diversity of G itself: an EMA copy lags by ~1/(1 - decay) steps and looks collapsed early on.
                grid = self.latest_grid if self.ema is None else self.sample_fixed(self.G)
                self.report({"step": self.step_count, "diversity": diversity(grid)})
            if t.quality_every and (self.step_count % t.quality_every == 0 or self.step_count == total):
                self.measure_quality()
                events.add("quality")
                self._last_log_time = time.perf_counter()  # scoring time is not training throughput
            if on_step is not None:
                on_step(self, events)
        self.flush_metrics()
        return "done"

    def _halve_batch(self) -> None:
        """After running out of device memory: retry with half the batch, down to MIN_BATCH, then give up."""
        self._buf_n = 0  # the failed step's partial metrics are discarded
        for opt in (self.opt_g, self.opt_d):
            opt.zero_grad(set_to_none=True)
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        if self.batch_size // 2 < MIN_BATCH:
            raise TrainingError(f"Out of {self.device.type.upper()} memory at step {self.step_count + 1} even with "
                                f"batch size {self.batch_size}: use a smaller image size or model, or the CPU.")
        self.batch_size //= 2
        self._add_alert("oom", self.step_count, f"Out of {self.device.type.upper()} memory: batch size halved to "
                        f"{self.batch_size}. Choose a smaller batch size to avoid this.")

    # ---- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything exact resume needs, as tensors and plain Python values (loadable with weights_only=True)."""
        self.flush_metrics()
        return {
            "format_version": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "image_shape": list(self.image_shape),
            "num_classes": self.num_classes,
            "class_names": list(self.data.class_names or []),
            "step": self.step_count,
            "epoch": self.epoch,
            "train_seconds": self.train_seconds,
            "batch_size": self.batch_size,
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "EMA": None if self.ema is None else self.ema.state_dict(),
            "opt_G": self.opt_g.state_dict(),
            "opt_D": self.opt_d.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "gen": self.gen.get_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
            "fixed_z": self.fixed_z.cpu(),
            "history": list(self.history),
            "alerts": list(self.alerts),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from a checkpoint's state (see checkpoints.load_checkpoint); raises on mismatches."""
        from .checkpoints import check_compatible

        check_compatible(state, self.config, self.image_shape, self.num_classes)
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        if self.ema is not None:
            self.ema.load_state_dict(state["EMA"] if state.get("EMA") is not None else state["G"])
        self.opt_g.load_state_dict(state["opt_G"])
        self.opt_d.load_state_dict(state["opt_D"])
        torch.set_rng_state(state["rng"]["torch"])
        self.gen.set_state(state["rng"]["gen"])
        if state["rng"].get("cuda") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.fixed_z = state["fixed_z"].to(self.device)
        self.step_count = int(state["step"])
        self.train_seconds = float(state.get("train_seconds", 0.0))
        self.batch_size = int(state.get("batch_size", self.batch_size))
        self.history = list(state.get("history", []))
        self.alerts = list(state.get("alerts", []))
        self._buf_n = 0

    def weights_finite(self) -> bool:
        """True when every parameter of G, D (and EMA) is finite: non-finite weights are never saved."""
        modules: list[nn.Module] = [self.G, self.D] + ([self.ema] if self.ema is not None else [])
        return all(bool(torch.isfinite(p).all()) for m in modules for p in m.parameters())


def _grad_norm(module: nn.Module) -> torch.Tensor:
    """L2 norm over all parameter gradients, computed on the device (no sync)."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
