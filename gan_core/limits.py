"""What a numeric setting accepts (Domain: range, whole or not, plain-word label) and the memory bound of counts.

The settings' domains are declared in settings.SETTINGS; the CLI's sample and eval counts are here.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from .catalog import ARCHS
from .errors import ConfigError


def format_number(value: float, integer: bool = False) -> str:
    """Plain digits: whole numbers grouped (10,000,000), others in the shortest form (1e-06, 0.9999)."""
    if integer or (math.isfinite(value) and value == int(value) and abs(value) < 1e15):
        return f"{int(value):,}"
    return f"{value:g}"


@dataclass(frozen=True)
class Domain:
    """The values a numeric setting accepts: finite, low <= value <= high, whole when integer."""

    label: str  # plain words, as the Train page labels the setting
    low: float
    high: float
    integer: bool = False
    help: str = ""

    @property
    def range_text(self) -> str:
        """'1e-06 to 1', '2 to 4,096': the true bounds, never rounded to a display format."""
        return f"{format_number(self.low, self.integer)} to {format_number(self.high, self.integer)}"

    def problem(self, value: Any) -> str | None:
        """Why value is outside the domain, as a sentence without the setting's name; None when it fits."""
        kind = "a whole number" if self.integer else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be {kind} from {self.range_text} (got {value!r})."
        if not math.isfinite(value):
            return f"must be a finite number from {self.range_text} (got {value})."
        if self.integer and value != int(value):
            return f"must be a whole number from {self.range_text} (got {value:g})."
        if not self.low <= value <= self.high:
            return f"must be from {self.range_text} (got {format_number(value, self.integer)})."
        return None

    def check(self, name: str, value: Any) -> None:
        """ConfigError naming the setting (label and config name) when value is outside the domain."""
        why = self.problem(value)
        if why is not None:
            raise ConfigError(f"{self.label} ({name}) {why}")

    def parse(self, text: str) -> int | float:
        """The value typed as text ('2e-4', '4,096'), checked; ConfigError with the label and the range otherwise."""
        cleaned = text.strip().replace("_", "")
        if self.integer:
            cleaned = cleaned.replace(",", "")
        try:
            number = float(cleaned)
        except ValueError:
            raise ConfigError(f"{self.label}: '{text.strip()}' is not a number; enter one from {self.range_text}.")\
                from None
        value: int | float = int(number) if self.integer and math.isfinite(number) and number == int(number) \
            else number
        why = self.problem(value)
        if why is not None:
            raise ConfigError(f"{self.label} {why}")
        return value


# Counts of the CLI's sample and eval commands (their memory is bounded by check_memory too).
SAMPLE_COUNT = Domain("Number of samples", 1, 1_000_000, True)
EVAL_COUNT = Domain("Number of samples to score", 2, 100_000, True)
TRUNCATION = Domain("Truncation", 0.01, 10.0, help="noise values beyond +-this are redrawn")


# ---- the memory bound ----------------------------------------------------------------------------------------------
# Training keeps each sample's activations of G and D for the backward pass: a DCGAN-like net holds about this many
# floats per (width x pixel) over all its layers (the widest layer at full size, narrower ones at lower resolutions),
# measured as an upper bound on the built-in convolutional nets; the MLPs hold at most MLP_FLOATS per sample.
CONV_FLOATS_PER_WIDTH_PIXEL = 12
MLP_FLOATS = 8192
MEMORY_SHARE = 0.8  # of the memory available now: the rest is for the data set, the models and other processes


def training_bytes(batch: int, shape: tuple[int, int, int], arch: str, width: int) -> int:
    """An upper estimate of the activation memory of one training step at `batch` images of shape (C, H, W)."""
    c, h, w = shape
    net = MLP_FLOATS if ARCHS[arch].mlp else CONV_FLOATS_PER_WIDTH_PIXEL * width * h * w
    per_sample = 8 * c * h * w + net
    return 4 * batch * per_sample  # float32


def sampling_bytes(count: int, shape: tuple[int, int, int], latent_dim: int) -> int:
    """Memory of `count` samples kept at once: their uint8 images, a grid of them (RGB) and their latents."""
    c, h, w = shape
    return count * (c * h * w + 3 * (h + 2) * (w + 2) + 4 * latent_dim)


def available_memory() -> int | None:
    """Bytes of host memory available now (Linux MemAvailable, else free pages), None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(what: str, needed: int, budget: int | None = None, fix: str = "choose a smaller number") -> None:
    """ConfigError before allocating when `needed` bytes exceed MEMORY_SHARE of the budget (default: host memory)."""
    budget = available_memory() if budget is None else budget
    if budget is None:  # unknown on this OS: the allocator decides
        return
    allowed = int(budget * MEMORY_SHARE)
    if needed > allowed:
        raise ConfigError(f"{what} would need about {format_bytes(needed)} of memory, more than the "
                          f"{format_bytes(allowed)} this machine can spare: {fix}.")


def format_bytes(n: int) -> str:
    """'1.5 GiB', '40 MiB': a size in the unit that keeps it readable."""
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.0f} MiB"
