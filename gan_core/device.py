"""Device choice ('auto' = cuda, then mps, then cpu), CPU threads, whether bf16 pays, and the hardware in words."""

from __future__ import annotations

import functools
import math
import os
import statistics
import time
from collections.abc import Callable
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
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a core's own speed-up: with 2 threads on a busy machine the timings were noise
    try:
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
    finally:
        torch.set_num_threads(threads)
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


def pin_threads(n: int) -> None:
    """Set the calling thread's intra-op thread count to n for good.

    torch initialises a thread's count lazily, at its first parallel op, to the count that any thread set last: a
    new thread that only called set_num_threads(n) could still end up on another thread's count. Asking for the
    count first does that initialisation now, so the n set after it stays."""
    torch.get_num_threads()
    torch.set_num_threads(n)


_BASE_THREADS: int | None = None  # torch's intra-op thread count before the first Trainer changed it

# A conv net trains on more than 1 thread only where its own steps, timed at start (Trainer._confirm_threads), run
# at least this much faster on them: on 2 cores 2 threads were up to 1.5x faster when idle, but 3-23x slower than 1
# while another process held a core (bench/README.md, "Threads"), and on 2-core VMs whose vCPUs do not scale (the AVX2
# laptop class of issue #23) slower than 1 even when idle.
THREADS_MIN_SPEEDUP = 1.1
THREAD_PROBE_SECONDS = 1.0  # at most this long timing steps (after the warm-up), at least THREAD_PROBE_REPS each
THREAD_PROBE_REPS = 3
THREAD_PROBE_MAX_STEP = 0.5  # s: a 1-thread step slower than this is big enough to use every thread


def cpu_threads(config: RunConfig) -> tuple[int, bool]:
    """Intra-op threads for training on the CPU, and whether the run's own steps should confirm more than one.

    $GAN_WORKBENCH_THREADS when set; else 1 for the MLPs, whose layers at tutorial batch sizes split poorly and slow
    down badly when another process holds a core (bench/README.md, "Why the engine does what it does"); else all
    the threads torch had before the first Trainer (a caller's torch.set_num_threads is a ceiling), to be confirmed
    by faster_threads. Results on the CPU depend on the thread count (sums run in a different order): a run is
    bit-exact for a given count, and its hardware line names the count chosen.
    """
    global _BASE_THREADS
    if _BASE_THREADS is None:
        _BASE_THREADS = torch.get_num_threads()
    env = os.environ.get("GAN_WORKBENCH_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env), False
    if ARCHS[config.model.arch].mlp or _BASE_THREADS == 1:
        return 1, False
    return _BASE_THREADS, True


def faster_threads(step: Callable[[], None], threads: int) -> int:
    """`threads` if `step` runs at least THREADS_MIN_SPEEDUP faster on them than on 1 thread, else 1; leaves the
    calling thread on the count returned.

    Steps alternate between the counts (a change of machine load hits both) after one warm-up step each (the first
    steps build kernels), for THREAD_PROBE_SECONDS and at least THREAD_PROBE_REPS each; the medians are compared,
    since under load the best of a few can be a lucky one. A 1-thread step over THREAD_PROBE_MAX_STEP keeps
    `threads` after one timed round: work that big splits well, and more rounds would cost seconds."""
    times: dict[int, list[float]] = {threads: [], 1: []}
    rep, started = 0, time.perf_counter()
    while True:
        for n, seen in times.items():
            torch.set_num_threads(n)
            t0 = time.perf_counter()
            step()
            if rep:
                seen.append(time.perf_counter() - t0)
        if rep == 1 and times[1][0] > THREAD_PROBE_MAX_STEP:
            chosen = threads
            break
        if rep >= THREAD_PROBE_REPS and time.perf_counter() - started > THREAD_PROBE_SECONDS:
            faster = statistics.median(times[1]) >= THREADS_MIN_SPEEDUP * statistics.median(times[threads])
            chosen = threads if faster else 1
            break
        rep += 1
    torch.set_num_threads(chosen)
    return chosen


def free_memory(device: torch.device) -> int | None:
    """Bytes free for tensors on device now: the GPU's free memory, else the host's; None where unknown."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    return limits.available_memory()  # the CPU, and Apple's MPS, which shares the host's memory
