"""Progressive resolution's cost per step: MFLOP per image (torch.utils.flop_counter) and steps/s of a recipe's half,
fade-in and full-resolution steps (per CPU second), measured alternately in one process, against the plain recipe.

Run by hand (never a timed test), one thread, fp32 for the AVX2 class:

    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 nice -n 10 python bench/progressive.py --rounds 5
    python bench/progressive.py --preset shapes-default --seconds 3

The speeds relative to the plain recipe are what `bench/quality.py --half-speed H --fade-speed F` takes to turn a
wall-clock budget into steps for a progressive candidate (a ratio is less disturbed by other processes' load than
a speed, and the rounds alternate so a change of load hits every phase alike).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import gan_core  # noqa: E402, F401  (before torch: the engine's OpenMP settings apply only then)
import torch  # noqa: E402

from gan_core.expectation import NATIVE  # noqa: E402
from gan_core.presets import preset_config  # noqa: E402
from gan_core.train.trainer import Trainer  # noqa: E402
from machine import LoadMeter, machine_class  # noqa: E402
from speed import engine_steps, gflops  # noqa: E402
from tutorials import synthetic  # noqa: E402

FAR = 10_000_000  # a phase that lasts for the whole measurement


def phases() -> dict[str, tuple[int, int]]:
    """Phase name -> (half_res_steps, fade_steps) that keeps a trainer in that phase after its first step."""
    return {"plain (off)": (0, 0), "half resolution": (FAR, 0), "fade-in": (1, FAR), "full, after the fade": (1, 0)}


def trainer_for(preset: str, half: int, fade: int, data: object) -> Trainer:
    cfg = preset_config(preset, data_dir="unused")
    t = cfg.train
    t.device, t.amp, t.half_res_steps, t.fade_steps, t.steps = "cpu", False, half, fade, FAR
    tr = Trainer(cfg, data=data)
    tr.step()  # leaves step 0: from here the phase holds
    return tr


def cpu_rate(trainer: Trainer, seconds: float) -> float:
    """Steps per CPU second of this process over a window of `seconds` of CPU time: on a shared machine the CPU
    time a 1-thread step takes moves much less with other processes' load than its wall time."""
    one = engine_steps(trainer)
    n, t0 = 0, time.process_time()
    while time.process_time() - t0 < seconds:
        one()
        n += 1
    trainer.flush_metrics()
    return n / (time.process_time() - t0)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="shapes-default")
    p.add_argument("--seconds", type=float, default=2.0, help="seconds per phase per round (default 2)")
    p.add_argument("--rounds", type=int, default=5, help="rounds of the phases in turn (default 5)")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    os.environ["GAN_WORKBENCH_THREADS"] = "1"
    print(machine_class().describe(), flush=True)
    cfg = preset_config(a.preset, data_dir="unused")
    c, s, _ = NATIVE[cfg.data.name]
    shape = (cfg.data.channels or c, cfg.data.image_size or s, cfg.data.image_size or s)
    data = synthetic(shape, 2048)
    runs = {name: trainer_for(a.preset, h, f, data) for name, (h, f) in phases().items()}
    mflop = {}
    for name, (h, f) in phases().items():
        probe = trainer_for(a.preset, h, f, data)  # a throwaway copy: the count runs one step
        mflop[name] = 1000 * (gflops(probe.step) or 0.0) / probe.batch_size
    for tr in runs.values():
        cpu_rate(tr, 0.5)  # warm-up
    meter = LoadMeter()
    speeds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(a.rounds):
        for name, tr in runs.items():
            speeds[name].append(cpu_rate(tr, a.seconds))
    others = meter.others()
    base = speeds["plain (off)"]
    print(f"\n{a.preset}, 1 thread, fp32, {a.rounds} rounds of {a.seconds:g} s of CPU time per phase in turn; other "
          f"processes used {'?' if others is None else f'{others:.2f}'} of {os.cpu_count()} cores meanwhile\n")
    print("| phase | MFLOP/image/step | vs plain | steps per CPU second (median) | speed vs plain: min / median / "
          "max |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, v in speeds.items():
        ratios = [x / b for x, b in zip(v, base)]
        print(f"| {name} | {mflop[name]:.1f} | {mflop[name] / mflop['plain (off)']:.2f} | {statistics.median(v):.1f} "
              f"| {min(ratios):.2f} / **{statistics.median(ratios):.2f}** / {max(ratios):.2f} |")


if __name__ == "__main__":
    main()
