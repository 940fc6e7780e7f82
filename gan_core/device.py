"""Device choice ('auto' = cuda, then mps, then cpu) and a human description of the hardware."""

from __future__ import annotations

import os

import torch

from .errors import ConfigError


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


def native_bf16(device: torch.device) -> bool:
    """True where bfloat16 math runs in hardware: CUDA GPUs that support it, CPUs with AVX512-BF16 or AMX (Linux)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:  # not Linux: emulated bf16 is slower than fp32, so never assume it
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def describe_device(device: torch.device | None = None) -> str:
    """One line: the GPU's name and memory, or the CPU core count and torch thread count."""
    device = device or resolve_device("auto")
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"GPU: {props.name} ({props.total_memory / 2**30:.0f} GiB)"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU: {os.cpu_count()} cores, {torch.get_num_threads()} training threads"
