"""Device choice ('auto' = cuda, then mps, then cpu), CPU threads, whether bf16 pays, and the hardware in words."""

from __future__ import annotations

import functools
import math
import os
import time
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from . import limits
from .catalog import ARCHS
from .errors import ConfigError

if TYPE_CHECKING:
    from .config import RunConfig


def resolve_device(name: str = "auto") -> torch.device:
    """Map a device name to a torch.device; a forced device that is missing is a user error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("CUDA was requested but no CUDA GPU is available: choose device 'auto' or 'cpu'.")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("MPS was requested but this machine has no Apple GPU: choose device 'auto' or 'cpu'.")
    return torch.device(name)


def device_problems() -> dict[str, str | None]:
    """Each device name (config.DEVICE_NAMES) -> None where it can be used here, else why not, in words."""
    problems: dict[str, str | None] = {"auto": None, "cpu": None, "cuda": None, "mps": None}
    for name in ("cuda", "mps"):
        try:
            resolve_device(name)
        except ConfigError:
            problems[name] = "no CUDA GPU on this machine" if name == "cuda" else "not an Apple GPU machine"
    return problems


# bf16 autocast is used on the CPU only where it measures at least this much faster than fp32: CPUs with the same
# bf16 flag differ in both directions (bench/README.md, "Precision"), so the flag alone cannot decide.
BF16_MIN_SPEEDUP = 1.1


def fast_bf16(device: torch.device) -> bool:
    """True where bf16 mixed precision speeds training up: CUDA GPUs with bf16; CPUs where a short probe says so."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    speedup = cpu_bf16_speedup()
    return speedup is not None and speedup >= BF16_MIN_SPEEDUP


def cpu_flags() -> set[str]:
    """The CPU's instruction-set flags from /proc/cpuinfo (empty where unknown)."""
    try:
        with open("/proc/cpuinfo") as f:
            return set(next((line for line in f if line.startswith("flags")), "").split())
    except OSError:  # not Linux: emulated bf16 is slower than fp32, so never assume it
        return set()


@functools.cache
def cpu_bf16_speedup() -> float | None:
    """fp32 time over bf16-autocast time of two typical layers on this CPU, measured once per process (~0.05 s);
    None where the CPU has no bf16 instructions (there bf16 is emulated and always slower)."""
    if not {"avx512_bf16", "amx_bf16"} & cpu_flags():
        return None
    return _probe_bf16()


def _probe_bf16(reps: int = 5) -> float:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 784, generator=g)  # a deep-MLP layer at batch 64: 64 x 784 -> 64 x 1024
    w = torch.randn(1024, 784, generator=g)
    xc = torch.randn(16, 64, 16, 16, generator=g).to(memory_format=torch.channels_last)  # a DCGAN conv, NHWC as
    wc = torch.randn(128, 64, 4, 4, generator=g).to(memory_format=torch.channels_last)  # trained: 16x64x16x16 -> x8x8
    layers = (lambda: F.linear(x, w), lambda: F.conv2d(xc, wc, stride=2, padding=1))
    speedups = []
    with torch.no_grad():
        for layer in layers:
            best = {False: math.inf, True: math.inf}
            for _ in range(reps):  # interleaved, best of reps: robust to another process taking the core a while
                for bf16 in (False, True):
                    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                        t0 = time.perf_counter()
                        layer()
                        layer()
                        best[bf16] = min(best[bf16], time.perf_counter() - t0)
            speedups.append(best[False] / best[True])
    return math.prod(speedups) ** (1 / len(speedups))  # geometric mean


def describe_device(device: torch.device | None = None) -> str:
    """One line: the GPU's name and memory, or the CPU core count and torch thread count."""
    device = device or resolve_device("auto")
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"GPU: {props.name} ({props.total_memory / 2**30:.0f} GiB)"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    # No thread count: it is each run's own (cpu_threads: 1 for the small defaults), told by the run's hardware line;
    # this process's count said "2 training threads" for a 1-thread run.
    cores = os.cpu_count() or 1
    return f"CPU: {cores} core{'s' if cores != 1 else ''}"


_BASE_THREADS: int | None = None  # torch's intra-op thread count before the first Trainer changed it
# Per-step work (batch x base width x pixels) up to which a conv net trains on 1 thread unless the probe says
# otherwise: batch 32 at width 32 and 32x32 (the tuned defaults before issue #23 halved their width). On 2 cores their
# steps ran 1.2x faster on 1 thread than on 2 when idle, and 2 threads collapse when the app's UI takes a core
# (bench/README.md, "Threads").
SMALL_CONV_WORK = 32 * 32 * 32 * 32


# A small conv net trains on more than 1 thread only where the start-up probe measures at least this much faster:
# on 2-core VMs whose vCPUs do not scale (the AVX2 laptop class of issue #23) 2 threads ran slower than 1.
THREADS_MIN_SPEEDUP = 1.2


def cpu_threads(config: RunConfig) -> int:
    """Intra-op threads for training on the CPU (bench/speed.py measures the choice).

    $GAN_WORKBENCH_THREADS when set; else 1 for the MLPs, whose layers at tutorial batch sizes split poorly and slow
    down badly when another process holds a core (bench/README.md, "Why the engine does what it does"); for conv
    nets up to SMALL_CONV_WORK 1, unless a short probe at start (cpu_threads_speedup) measures all threads at least
    THREADS_MIN_SPEEDUP faster; else all the threads torch had before the first Trainer, so a caller's
    torch.set_num_threads is a ceiling. Results on the CPU depend on the thread count (sums run in a different
    order): a run is bit-exact for a given count, and its hardware line names the count chosen.
    """
    global _BASE_THREADS
    if _BASE_THREADS is None:
        _BASE_THREADS = torch.get_num_threads()
    env = os.environ.get("GAN_WORKBENCH_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    size = config.data.image_size or 32  # native sizes (MNIST's 28) count as 32
    work = config.train.batch_size * config.model.width * size * size
    if ARCHS[config.model.arch].mlp or _BASE_THREADS == 1:
        return 1
    if work > SMALL_CONV_WORK:
        return _BASE_THREADS
    return _BASE_THREADS if cpu_threads_speedup(_BASE_THREADS) >= THREADS_MIN_SPEEDUP else 1


@functools.cache
def cpu_threads_speedup(threads: int, reps: int = 5) -> float:
    """1-thread time over `threads`-thread time of a small DCGAN layer's forward and backward (batch 32, 32 -> 64
    channels, 16 x 16 -> 8 x 8, NHWC), best of reps interleaved; measured once per process (~0.1 s)."""
    before = torch.get_num_threads()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 32, 16, 16, generator=g).to(memory_format=torch.channels_last).requires_grad_()
    w = torch.randn(64, 32, 4, 4, generator=g).to(memory_format=torch.channels_last).requires_grad_()
    best = {1: math.inf, threads: math.inf}
    try:
        for r in range(reps + 1):  # round 0 warms oneDNN's kernels up and is not counted
            for n in best:
                torch.set_num_threads(n)
                t0 = time.perf_counter()
                F.conv2d(x, w, stride=2, padding=1).sum().backward()
                if r:
                    best[n] = min(best[n], time.perf_counter() - t0)
    finally:
        torch.set_num_threads(before)
    return best[1] / best[threads]


def free_memory(device: torch.device) -> int | None:
    """Bytes free for tensors on device now: the GPU's free memory, else the host's; None where unknown."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    return limits.available_memory()  # the CPU, and Apple's MPS, which shares the host's memory
