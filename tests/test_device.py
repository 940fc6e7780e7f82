"""Device choice and the CPU's bf16 probe: bf16 is used only where it measures faster."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
import torch

from gan_core import device
from gan_core.errors import ConfigError
from gan_core.presets import preset_config


@pytest.fixture
def fresh_probe():
    """Clear the once-per-process probe result before and after, so each test measures its own case."""
    device.cpu_bf16_speedup.cache_clear()
    yield
    device.cpu_bf16_speedup.cache_clear()


def test_no_bf16_instructions_means_fp32_without_probing(monkeypatch, fresh_probe) -> None:
    monkeypatch.setattr(device, "cpu_flags", lambda: {"avx2", "fma"})
    monkeypatch.setattr(device, "_probe_bf16", lambda: pytest.fail("probed a CPU without bf16 instructions"))
    assert device.cpu_bf16_speedup() is None
    assert not device.fast_bf16(torch.device("cpu"))


@pytest.mark.parametrize(("speedup", "expected"), [(0.5, False), (1.05, False), (1.6, True)])
def test_bf16_instructions_use_bf16_only_where_the_probe_measures_it_faster(monkeypatch, fresh_probe,
                                                                            speedup: float, expected: bool) -> None:
    calls: list[int] = []
    monkeypatch.setattr(device, "cpu_flags", lambda: {"avx512f", "avx512_bf16"})
    monkeypatch.setattr(device, "_probe_bf16", lambda: calls.append(1) or speedup)
    assert device.fast_bf16(torch.device("cpu")) is expected
    assert device.fast_bf16(torch.device("cpu")) is expected
    assert calls == [1]  # measured once per process, not per Trainer


def test_the_real_probe_times_both_precisions() -> None:
    # Runs on any CPU (bf16 is emulated where the instructions are missing): a positive, finite time ratio.
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        speedup = device._probe_bf16(reps=2)  # timed on 1 thread
        assert math.isfinite(speedup) and speedup > 0 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_forced_devices_that_are_missing_are_user_errors() -> None:
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            device.resolve_device("cuda")
    assert device.resolve_device("cpu").type == "cpu"
    assert not device.fast_bf16(torch.device("meta"))


def test_thread_rule_one_for_mlps_the_rest_confirmed_by_timing_and_the_environment_wins(monkeypatch) -> None:
    monkeypatch.setattr(device, "_BASE_THREADS", 4)  # torch's count before the first Trainer
    monkeypatch.delenv("GAN_WORKBENCH_THREADS", raising=False)
    presets = ("mnist-mlp-small", "mnist-mlp-deep", "shapes-default", "mnist-default", "cifar10-upsample-conv",
               "fashion-dcgan64", "ring-default")
    assert [device.cpu_threads(preset_config(p)) for p in presets] == [(1, False), (1, False), (4, True), (4, True),
                                                                         (4, True), (4, True), (1, False)]
    monkeypatch.setenv("GAN_WORKBENCH_THREADS", "3")
    assert device.cpu_threads(preset_config("mnist-mlp-small")) == (3, False)
    assert device.cpu_threads(preset_config("shapes-default")) == (3, False)
    for junk in ("0", "two", ""):
        monkeypatch.setenv("GAN_WORKBENCH_THREADS", junk)
        assert device.cpu_threads(preset_config("shapes-default")) == (4, True)
    monkeypatch.delenv("GAN_WORKBENCH_THREADS")
    monkeypatch.setattr(device, "_BASE_THREADS", 1)  # nothing to confirm on one thread
    assert device.cpu_threads(preset_config("shapes-default")) == (1, False)


def test_the_device_line_names_no_thread_count_that_is_not_the_runs() -> None:
    """Issue #20, item 12: Home said "2 training threads" for a run that trains on 1 (the count is each run's)."""
    import torch

    from gan_core.device import describe_device

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        line = describe_device(torch.device("cpu"))
    finally:
        torch.set_num_threads(before)
    assert line.startswith("CPU: ") and "thread" not in line


@pytest.mark.parametrize(("one", "more", "chosen"), [(0.02, 0.01, 2), (0.01, 0.02, 1), (0.0104, 0.01, 1)])
def test_more_threads_only_where_the_steps_time_faster_on_them(one: float, more: float, chosen: int) -> None:
    """Steps that take `one` s on 1 thread and `more` on 2 (sleeps: the count only changes the wait): 2 threads only
    where at least THREADS_MIN_SPEEDUP faster (1.04x is not), and the calling thread is left on the count chosen."""
    before = torch.get_num_threads()
    calls = []

    def step() -> None:
        calls.append(torch.get_num_threads())
        time.sleep(one if torch.get_num_threads() == 1 else more)

    try:
        assert device.faster_threads(step, 2) == chosen and torch.get_num_threads() == chosen
    finally:
        torch.set_num_threads(before)
    assert calls.count(1) == calls.count(2) >= device.THREAD_PROBE_REPS + 1  # alternated, one warm-up step each


def test_steps_too_slow_to_time_long_keep_every_thread_after_one_round(monkeypatch) -> None:
    monkeypatch.setattr(device, "THREAD_PROBE_MAX_STEP", 0.05)
    before = torch.get_num_threads()
    calls = []

    def step() -> None:  # slower on 2 threads, but a 1-thread step is over the line
        calls.append(torch.get_num_threads())
        time.sleep(0.06 if torch.get_num_threads() == 1 else 0.08)

    try:
        assert device.faster_threads(step, 2) == 2 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert calls == [2, 1, 2, 1]  # a warm-up step and one timed step each


@pytest.mark.parametrize(("env", "expected"), [({}, "30000"), ({"OMP_WAIT_POLICY": "PASSIVE"}, None),
                                               ({"GOMP_SPINCOUNT": "5"}, "5")])
def test_importing_gan_core_sets_a_short_openmp_spin_unless_the_user_chose(env: dict, expected: str | None) -> None:
    """OpenMP reads its settings when torch loads, so gan_core sets them on import; a user's own setting wins."""
    import os
    import subprocess
    import sys

    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", "import os, gan_core; print(os.environ.get('GOMP_SPINCOUNT'))"],
                         env=clean | env, capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout.strip()
    assert out == str(expected)
