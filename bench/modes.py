"""Mode collapse against the papers: the 2D-ring and 2D-grid tables of PacGAN (Lin et al. 2018, Tables 1 and 2; the
VEEGAN protocol), our recipes' rows beside theirs, with the wall-clock time of each run on this machine.

Run by hand (never a timed test):

    python bench/modes.py                         # ring and grid, 10 seeds each, the *-default recipes
    python bench/modes.py --sets ring --seeds 3   # fewer runs
    python bench/modes.py --sets grid --set model.pack=4 train.steps=10000   # a variant of the recipe
    python bench/modes.py --sets grid --first 5 --seeds 5 --json b.json    # seeds 5-9 (e.g. in a second process)
    python bench/modes.py --merge a.json b.json   # one table from the runs of several invocations

Each run trains the set's default recipe (gan_core/presets.py) with seed s on 1 thread, fp32, without callbacks,
then scores 2,500 fresh points: a point is high quality (HQ) within 3 std of its nearest mode, a mode is covered
when it holds an HQ point, and rKL is KL(the HQ points' mode histogram || uniform). Rows give mean ± standard error
over the seeds, and in how many seeds every mode was covered. Wall-clock is training time per run, measured while
other processes may load the machine: the LoadMeter line says how much (in cores) they used meanwhile; the run's
CPU time (1 thread) estimates what it takes on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import torch  # noqa: E402
from machine import LoadMeter, cpu_name  # noqa: E402

from gan_core.data import load_dataset  # noqa: E402
from gan_core.metric_names import MODES_COVERED, MODES_HQ, MODES_RKL  # noqa: E402
from gan_core.metrics.modes import SCORE_SAMPLES, mode_scores  # noqa: E402
from gan_core.train.point_callbacks import sample_points  # noqa: E402
from gan_core.presets import default_preset_for, preset_config  # noqa: E402
from gan_core.train.trainer import Trainer  # noqa: E402

# The papers' rows: (name, modes, HQ %, rKL). PacGAN Table 1 (2D-ring) and Table 2 (2D-grid).
PAPER = {
    "ring": [("GAN (PacGAN paper)", 6.3, 98.2, 0.45), ("PacGAN2 (paper)", 7.9, 95.6, 0.07)],
    "grid": [("GAN (PacGAN paper)", 17.3, 94.8, 0.70), ("PacGAN4 (paper)", 24.8, 93.6, 0.04)],
}
TARGETS = {"ring": (8, 98.0, 0.02), "grid": (25, 95.0, 0.02)}  # the issue's: all modes, HQ >= x %, rKL <= y
TIME_TARGET = 120.0  # seconds per run on the 2-core CPU


def parse_value(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def one_run(name: str, seed: int, overrides: list[str]) -> dict[str, float]:
    """Train the set's default recipe with this seed; its scores and training seconds."""
    cfg = preset_config(default_preset_for(name))
    cfg.train.seed, cfg.train.device, cfg.train.amp = seed, "cpu", False
    for item in overrides:
        key, value = item.split("=", 1)
        section, field = key.split(".")
        setattr(getattr(cfg, section), field, parse_value(value))
    cfg.validate()
    data = load_dataset(cfg.data)
    trainer = Trainer(cfg, data=data, callbacks=[])
    started, cpu_started = time.perf_counter(), time.process_time()
    trainer.run()
    seconds = time.perf_counter() - started
    # 1 thread: the process's CPU time is about what the run takes on an idle machine, however loaded this one is.
    cpu_seconds = time.process_time() - cpu_started
    rng = torch.Generator().manual_seed(10_000 + seed)
    scores = mode_scores(sample_points(trainer.sampler, SCORE_SAMPLES, rng), data.modes, data.mode_std)
    return {**scores, "seconds": seconds, "cpu_seconds": cpu_seconds, "steps": trainer.step_count}


def mean_se(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return mean, se


def table(name: str, runs: list[dict[str, float]], label: str) -> str:
    """The paper's layout: modes, HQ %, rKL; our row with mean ± standard error, coverage count and wall-clock."""
    k, hq_target, rkl_target = TARGETS[name]
    title = {"ring": "2D-ring (8 Gaussians on the unit circle, std 0.01)",
             "grid": "2D-grid (25 Gaussians on {-4,...,4}^2, std 0.05)"}[name]
    lines = [f"{title}, {SCORE_SAMPLES:,} points scored",
             f"{'':34s} {'modes (max ' + str(k) + ')':>16s} {'HQ %':>14s} {'reverse KL':>16s} {'wall-clock s':>14s}"]
    for row, modes, hq, rkl in PAPER[name]:
        lines.append(f"{row:34s} {modes:>16.1f} {hq:>14.1f} {rkl:>16.2f} {'-':>14s}")
    if runs:
        cols = [mean_se([r[key] for r in runs]) for key in (MODES_COVERED, MODES_HQ, MODES_RKL, "seconds")]
        cells = [f"{m:.1f} ± {s:.1f}" for m, s in cols[:2]] + [f"{cols[2][0]:.3f} ± {cols[2][1]:.3f}",
                                                               f"{cols[3][0]:.0f} ± {cols[3][1]:.0f}"]
        lines.append(f"{label:34s} {cells[0]:>16s} {cells[1]:>14s} {cells[2]:>16s} {cells[3]:>14s}")
        cpu, cpu_se = mean_se([r.get("cpu_seconds", r["seconds"]) for r in runs])
        rate = statistics.fmean(r["steps"] / r.get("cpu_seconds", r["seconds"]) for r in runs)
        lines.append(f"  idle-machine estimate (the run's CPU time, 1 thread): {cpu:.0f} ± {cpu_se:.0f} s a run, "
                     f"{rate:.0f} steps/s")
        full = sum(r[MODES_COVERED] == k for r in runs)
        lines.append(f"  all {k} modes in {full} of {len(runs)} seeds; {int(runs[0]['steps']):,} steps a run. "
                     f"Targets: all modes in >= 9 of 10 seeds, HQ >= {hq_target:g} %, rKL <= {rkl_target:g}, "
                     f"<= {TIME_TARGET:.0f} s a run.")
    return "\n".join(lines)


def print_tables(results: dict[str, list[dict[str, float]]]) -> None:
    for name, runs in results.items():
        label = f"ours: {default_preset_for(name)} ({len(runs)} seeds)"
        print("\n" + table(name, runs, label) + "\n", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sets", nargs="+", default=["ring", "grid"], choices=sorted(PAPER))
    p.add_argument("--seeds", type=int, default=10, help="how many seeds per set")
    p.add_argument("--first", type=int, default=0, help="the first seed (seeds first .. first+N-1)")
    p.add_argument("--set", nargs="*", default=[], dest="overrides", metavar="SECTION.KEY=VALUE",
                   help="change the recipe, e.g. model.pack=4 train.steps=10000")
    p.add_argument("--json", help="also write every run's figures to this file")
    p.add_argument("--merge", nargs="+", metavar="JSON", help="print the tables of runs saved by --json, and exit")
    a = p.parse_args()
    if a.merge:
        merged: dict[str, list[dict[str, float]]] = {}
        for path in a.merge:
            for name, runs in json.loads(Path(path).read_text()).items():
                merged.setdefault(name, []).extend(runs)
        print_tables(merged)
        return
    torch.set_num_threads(1)
    meter = LoadMeter()
    print(f"Machine: {cpu_name()}, {torch.get_num_threads()} thread, fp32; recipe changes: {a.overrides or 'none'}")
    results: dict[str, list[dict[str, float]]] = {}
    for name in a.sets:
        results[name] = []
        for seed in range(a.first, a.first + a.seeds):
            r = {**one_run(name, seed, a.overrides), "seed": seed}
            results[name].append(r)
            print(f"  {name} seed {seed}: {r[MODES_COVERED]} modes, HQ {r[MODES_HQ]:.1f} %, rKL {r[MODES_RKL]:.3f}, "
                  f"{r['seconds']:.0f} s wall ({r['steps'] / r['seconds']:.0f} steps/s), {r['cpu_seconds']:.0f} s CPU "
                  f"({r['steps'] / r['cpu_seconds']:.0f} steps/s)", flush=True)
            if a.json:  # after every run: a long bench stopped early keeps what it measured
                Path(a.json).write_text(json.dumps(results, indent=1))
    print_tables(results)
    others = meter.others()
    print(f"Other processes used {others:.1f} cores on average meanwhile." if others is not None else "")


if __name__ == "__main__":
    main()
