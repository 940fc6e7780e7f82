"""What the benches print about the machine: its class (CPU, instruction sets, emulation, one core's GFLOP/s) and how
much of it other processes used."""

from __future__ import annotations

import contextlib
import math
import os
import platform
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or platform.machine()


class LoadMeter:
    """CPU used by OTHER processes since construction, in cores (/proc/stat busy time minus this process's)."""

    def __init__(self, children: bool = False) -> None:
        self.children = children  # count this process's finished child processes as its own (a bench's runs)
        self.start = self._read()

    def _read(self) -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as f:
                parts = [float(x) for x in f.readline().split()[1:]]
        except OSError:
            return None
        busy = sum(parts) - parts[3] - (parts[4] if len(parts) > 4 else 0.0)  # minus idle and iowait
        me = os.times()
        mine = me.user + me.system + (me.children_user + me.children_system if self.children else 0.0)
        return busy / os.sysconf("SC_CLK_TCK"), mine, time.monotonic()

    def others(self) -> float | None:
        end = self._read()
        if self.start is None or end is None:
            return None
        busy, mine, wall = (e - s for e, s in zip(end, self.start))
        return max(0.0, (busy - mine) / max(wall, 1e-9))


# ---- the machine class: instruction sets and what one core computes ------------------------------------------------
# Environment variables that make this CPU behave as an older one (the AVX2 class is emulated on AVX-512 machines).
EMULATION_VARS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")
CLASS_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def _best_seconds(fn: Callable[[], object], reps: int) -> float:
    fn()  # warm-up: oneDNN builds its kernel on the first call
    best = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def matmul_gflops(reps: int = 10) -> float:
    """GFLOP/s of one 1024 x 1024 fp32 matmul on 1 intra-op thread, best of reps: what one core can do."""
    import torch

    with _one_thread():
        g = torch.Generator().manual_seed(0)
        a, b = torch.randn(1024, 1024, generator=g), torch.randn(1024, 1024, generator=g)
        return 2 * 1024**3 / _best_seconds(lambda: a @ b, reps) / 1e9


def conv_step_gflops(reps: int = 10) -> float:
    """GFLOP/s of a reference conv step on 1 thread, fp32, NHWC: a DCGAN D layer (batch 32, 64 -> 128 channels,
    4 x 4 stride 2, 16 x 16 -> 8 x 8), forward and backward for its input and weights, best of reps."""
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    with _one_thread():
        g = torch.Generator().manual_seed(0)
        x = torch.randn(32, 64, 16, 16, generator=g).to(memory_format=torch.channels_last).requires_grad_()
        w = torch.randn(128, 64, 4, 4, generator=g).to(memory_format=torch.channels_last).requires_grad_()

        def step() -> None:
            F.conv2d(x, w, stride=2, padding=1).sum().backward()

        with FlopCounterMode(display=False) as counter:
            step()
        return counter.get_total_flops() / _best_seconds(step, reps) / 1e9


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class MachineClass:
    """What decides a recipe's speed here: the CPU, its instruction sets, any emulation, and one core's GFLOP/s."""

    cpu: str
    cores: int
    flags: tuple[str, ...]  # of CLASS_FLAGS, those the CPU reports
    kernels: str  # the instruction set torch's own kernels run on (ATen's CPU capability)
    emulation: dict[str, str]  # EMULATION_VARS that are set
    matmul_gflops: float  # 1 thread, 1024 x 1024 fp32
    conv_gflops: float  # 1 thread, the reference conv step

    @property
    def name(self) -> str:
        """The class in words: 'AVX2' (no AVX-512), 'AVX-512', 'AVX-512 + bf16' or '... + AMX', emulation noted."""
        if self.emulation:
            isa = self.emulation.get("ONEDNN_MAX_CPU_ISA") or self.emulation.get("ATEN_CPU_CAPABILITY", "")
            return f"{isa.upper().replace('_', '-')} (emulated)"
        names = {"amx_bf16": "AVX-512 + AMX", "avx512_bf16": "AVX-512 + bf16", "avx512f": "AVX-512", "avx2": "AVX2"}
        return next((v for k, v in names.items() if k in self.flags), "pre-AVX2")

    def describe(self) -> str:
        emu = ", ".join(f"{k}={v}" for k, v in self.emulation.items()) or "none"
        return (f"Machine class {self.name}: {self.cpu}, {self.cores} logical cores; flags "
                f"{' '.join(self.flags) or 'none of ' + '/'.join(CLASS_FLAGS)}; torch kernels {self.kernels}; "
                f"emulation {emu}; 1 thread fp32: matmul 1024^2 {self.matmul_gflops:.1f} GFLOP/s, reference conv "
                f"step {self.conv_gflops:.1f} GFLOP/s")


def machine_class() -> MachineClass:
    """Probe this machine (~0.5 s): the figures every bench prints first."""
    import torch

    from gan_core.device import cpu_flags

    flags = cpu_flags()
    return MachineClass(cpu_name(), os.cpu_count() or 1, tuple(f for f in CLASS_FLAGS if f in flags),
                        torch.backends.cpu.get_cpu_capability(),
                        {k: os.environ[k] for k in EMULATION_VARS if os.environ.get(k)},
                        matmul_gflops(), conv_step_gflops())
