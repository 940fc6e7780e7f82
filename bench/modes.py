"""Mode collapse against the papers: the 2D-ring, 2D-grid and stacked-MNIST tables of PacGAN (Lin et al. 2018,
Tables 1-3; the VEEGAN protocol), our recipes' rows beside theirs, with the wall-clock time of each run on this machine.

Run by hand (never a timed test):

    python bench/modes.py                         # ring and grid, 10 seeds each, the *-default recipes
    python bench/modes.py --sets ring --seeds 3   # fewer runs
    python bench/modes.py --sets grid --set model.pack=4 train.steps=10000   # a variant of the recipe
    python bench/modes.py --sets grid --first 5 --seeds 5 --json b.json    # seeds 5-9 (e.g. in a second process)
    python bench/modes.py --merge a.json b.json   # one table from the runs of several invocations
    python bench/modes.py --sets stacked_mnist --seeds 3 --data-dir ../shared/data/mnist   # 1,000 modes
    python bench/modes.py --sets stacked_mnist --seeds 1 --trace 2000 --set train.steps=8000   # a probe: scores
                                                                                # every 2,000 steps as it trains

Each run trains the set's default recipe (gan_core/presets.py) with seed s on 1 thread, fp32, without callbacks,
then scores 2,500 fresh points: a point is high quality (HQ) within 3 std of its nearest mode, a mode is covered
when it holds an HQ point, and rKL is KL(the HQ points' mode histogram || uniform). Stacked MNIST scores 26,000
fresh images: each channel read by a digit classifier trained on the MNIST at hand (gan_core/metrics/stacked.py,
cached in the data folder's stats/), modes = distinct digit triples seen of 1,000, KL = KL(triples' histogram ||
uniform); beside them the same scores of 26,000 real stacked digits and the KL that sampling noise alone leaves
(999 / (2 x 26,000) = 0.019), which no generator can beat. Rows give mean ± standard error
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
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import torch  # noqa: E402
from machine import LoadMeter, cpu_name  # noqa: E402

from gan_core.config import DataConfig  # noqa: E402
from gan_core.data import STATS_CACHE, ImageData, data_root, load_dataset  # noqa: E402
from gan_core.data.stacked import stack_digits  # noqa: E402
from gan_core.metric_names import MODES_COVERED, MODES_HQ, MODES_RKL, STACKED_KL  # noqa: E402
from gan_core.metrics.modes import SCORE_SAMPLES, mode_scores  # noqa: E402
from gan_core.metrics.readers import BENCH_READER, reader_panel  # noqa: E402
from gan_core.metrics.stacked import (STACKED_SAMPLES, mode_histogram_scores, panel_scores, read_panel,  # noqa: E402
                                      uniform_kl_floor)
from gan_core.presets import default_preset_for, preset_config  # noqa: E402
from gan_core.sampling import sample_images  # noqa: E402
from gan_core.train.point_callbacks import sample_points  # noqa: E402
from gan_core.train.trainer import Trainer  # noqa: E402

STACKED = "stacked_mnist"
# The papers' rows: (name, modes, HQ % or None, rKL or KL). PacGAN Tables 1 (2D-ring), 2 (2D-grid) and 3 (stacked
# MNIST, whose DCGAN and VEEGAN rows come from VEEGAN's table).
PAPER = {
    "ring": [("GAN (PacGAN paper)", 6.3, 98.2, 0.45), ("PacGAN2 (paper)", 7.9, 95.6, 0.07)],
    "grid": [("GAN (PacGAN paper)", 17.3, 94.8, 0.70), ("PacGAN4 (paper)", 24.8, 93.6, 0.04)],
    STACKED: [("DCGAN (PacGAN paper)", 99, None, 3.40), ("VEEGAN (paper)", 150, None, 2.95),
              ("PacDCGAN2 (paper)", 1000, None, 0.06)],
}
# The targets: all modes, HQ >= x % (None: no HQ on images), (r)KL <= y, seconds a run on the 2-core CPU.
TARGETS = {"ring": (8, 98.0, 0.02), "grid": (25, 95.0, 0.02), STACKED: (1000, None, 0.05)}
TIME_TARGET = {"ring": 120.0, "grid": 120.0, STACKED: 900.0}
DEFAULT_MNIST = REPO.parent / "shared" / "data" / "mnist"
REAL_SEED = 31_337  # the real stacked digits scored beside ours (the training set is stacked with data.seed 0)
Score = Callable[[Trainer, int], dict[str, float]]  # (trained run, seed) -> its scores


def parse_value(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def point_scorer(data: ImageData) -> Score:
    """2,500 fresh points of the run's sampler, scored against the set's modes."""
    def score(trainer: Trainer, seed: int) -> dict[str, float]:
        rng = torch.Generator().manual_seed(10_000 + seed)
        return mode_scores(sample_points(trainer.sampler, SCORE_SAMPLES, rng), data.modes, data.mode_std)
    return score


def stacked_scorer(mnist: ImageData) -> tuple[Score, dict[str, float]]:
    """26,000 fresh images of the run's sampler read by the panel of digit readers; and the reference figures
    printed beside them: each reader's held-out accuracy and the scores of 26,000 real stacked digits (by their
    labels and as read)."""
    readers = reader_panel(mnist, data_root() / STATS_CACHE)
    assert mnist.labels is not None
    real = stack_digits(mnist.images, mnist.labels, STACKED_SAMPLES, REAL_SEED)  # 26,000 x 3 x 28 x 28
    seen = panel_scores(read_panel(real.images, readers))
    ref = {"reader_accuracy": {r.name: r.accuracy for r in readers}, "real_modes": seen[MODES_COVERED],
           "real_kl": seen[STACKED_KL], "real_label_kl": mode_histogram_scores(real.labels)[STACKED_KL],
           **{f"real_kl/{r.name}": seen[f"{STACKED_KL}/{r.name}"] for r in readers}}

    def score(trainer: Trainer, seed: int) -> dict[str, float]:
        images = sample_images(trainer.sampler, STACKED_SAMPLES, torch.Generator().manual_seed(10_000 + seed))
        triples = read_panel(images, readers)  # reader -> 26,000 x 3 digits
        # each reader's digit shares per channel: readers x 3 x 10
        shares = torch.stack([torch.stack([torch.bincount(d[:, c], minlength=10).double() / len(d) for c in range(3)])
                              for d in triples.values()])
        # KL(joint || uniform) = the channels' KLs to uniform over 10 digits + their dependence (total correlation)
        marginal = float(torch.where(shares > 0, shares * (shares * 10).log(), 0.0).sum((1, 2)).mean())
        return {**panel_scores(triples), "kl_channels": marginal,
                "digit_shares": [[round(float(x), 4) for x in p] for p in shares.mean(0)]}
    return score, ref


def one_run(name: str, seed: int, overrides: list[str], score: Score, data_dir: str | None = None,
            trace: int = 0) -> dict[str, float]:
    """Train the set's default recipe with this seed; its scores and training seconds. trace > 0: also score and
    print every trace steps (the time spent scoring is left out of the run's seconds)."""
    cfg = preset_config(default_preset_for(name))
    cfg.train.seed, cfg.train.device, cfg.train.amp = seed, "cpu", False
    if name == STACKED:
        cfg.data.data_dir = data_dir
    for item in overrides:
        key, value = item.split("=", 1)
        section, field = key.split(".")
        setattr(getattr(cfg, section), field, parse_value(value))
    cfg.validate()
    trainer = Trainer(cfg, data=load_dataset(cfg.data), callbacks=[])
    scoring = [0.0, 0.0]  # wall and CPU seconds spent on trace scores

    def on_step(run: Trainer, events: set[str]) -> None:
        if trace and run.step_count % trace == 0 and run.step_count < run.total_steps:
            t, c = time.perf_counter(), time.process_time()
            s = score(run, seed)
            scoring[0], scoring[1] = scoring[0] + time.perf_counter() - t, scoring[1] + time.process_time() - c
            print(f"    step {run.step_count:,}: {describe(s)}, {time.process_time() - cpu_started - scoring[1]:.0f} "
                  "s CPU", flush=True)

    started, cpu_started = time.perf_counter(), time.process_time()
    trainer.run(on_step=on_step)
    seconds = time.perf_counter() - started - scoring[0]
    # 1 thread: the process's CPU time is about what the run takes on an idle machine, however loaded this one is.
    cpu_seconds = time.process_time() - cpu_started - scoring[1]
    return {**score(trainer, seed), "seconds": seconds, "cpu_seconds": cpu_seconds, "steps": trainer.step_count}


def describe(r: dict[str, float]) -> str:
    """One run's scores in words: modes, then HQ and rKL (points) or KL (stacked MNIST)."""
    if STACKED_KL in r:
        channels = f" (the channels' digit shares alone: {r['kl_channels']:.3f})" if "kl_channels" in r else ""
        return f"{r[MODES_COVERED]} modes, KL {r[STACKED_KL]:.3f}{channels}"
    return f"{r[MODES_COVERED]} modes, HQ {r[MODES_HQ]:.1f} %, rKL {r[MODES_RKL]:.3f}"


def mean_se(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return mean, se


def idle_lines(runs: list[dict[str, float]]) -> list[str]:
    """The runs' CPU time (1 thread), which estimates what a run takes on an idle machine, and the step rate."""
    cpu, cpu_se = mean_se([r.get("cpu_seconds", r["seconds"]) for r in runs])
    rate = statistics.fmean(r["steps"] / r.get("cpu_seconds", r["seconds"]) for r in runs)
    return [f"  idle-machine estimate (the run's CPU time, 1 thread): {cpu:.0f} ± {cpu_se:.0f} s a run, "
            f"{rate:.1f} steps/s"]


def stacked_table(runs: list[dict[str, float]], label: str) -> str:
    """PacGAN's Table 3 layout: modes, KL; the real digits' and the sampling floor's rows; ours, mean ± SE."""
    k, _, kl_target = TARGETS[STACKED]
    lines = [f"Stacked MNIST (three MNIST digits as R, G, B: {k:,} modes), {STACKED_SAMPLES:,} samples read by "
             "digit readers (KL: their mean)", f"{'':38s} {'modes (max 1000)':>18s} {'KL':>16s} {'wall-clock s':>14s}"]
    for row, modes, _, kl in PAPER[STACKED]:
        lines.append(f"{row:38s} {modes:>18.0f} {kl:>16.2f} {'-':>14s}")
    if not runs:
        return "\n".join(lines)
    ref = runs[0]
    floor = uniform_kl_floor(STACKED_SAMPLES)
    lines += [f"{'floor: perfect sampling (999/2n)':38s} {k:>18d} {floor:>16.3f} {'-':>14s}",
              f"{'real stacked digits, their labels':38s} {k:>18d} {ref['real_label_kl']:>16.3f} {'-':>14s}",
              f"{'real stacked digits, as read':38s} {ref['real_modes']:>18.0f} {ref['real_kl']:>16.3f} {'-':>14s}"]
    cols = [mean_se([r[key] for r in runs]) for key in (MODES_COVERED, STACKED_KL, "seconds")]
    cells = [f"{cols[0][0]:.1f} ± {cols[0][1]:.1f}", f"{cols[1][0]:.3f} ± {cols[1][1]:.3f}",
             f"{cols[2][0]:.0f} ± {cols[2][1]:.0f}"]
    lines.append(f"{label:38s} {cells[0]:>18s} {cells[1]:>16s} {cells[2]:>14s}")
    lines += idle_lines(runs)
    accuracy = ref["reader_accuracy"]  # by reader (runs before session 38: the one reader's float)
    accuracy = accuracy if isinstance(accuracy, dict) else {BENCH_READER: accuracy}
    lines.append("  each reader (its accuracy on held-out real digits): KL of ours, mean ± SE; of the real digits")
    for name, acc in accuracy.items():
        mean, se = mean_se([r.get(f"{STACKED_KL}/{name}", r[STACKED_KL]) for r in runs])
        real = ref.get(f"real_kl/{name}", ref["real_kl"])
        lines.append(f"    {name} ({100 * acc:.1f} %): {mean:.3f} ± {se:.3f}; {real:.3f}")
    full = sum(r[MODES_COVERED] == k for r in runs)
    lines += ["  the real digits' KL is the class imbalance of the MNIST at hand plus the sampling floor",
              f"  all {k:,} modes in {full} of {len(runs)} seeds; {int(runs[0]['steps']):,} steps a run. "
              f"Targets: {k:,} modes, KL <= {kl_target:g}, <= {TIME_TARGET[STACKED]:.0f} s a run."]
    return "\n".join(lines)


def table(name: str, runs: list[dict[str, float]], label: str) -> str:
    """The paper's layout: modes, HQ %, rKL; our row with mean ± standard error, coverage count and wall-clock."""
    if name == STACKED:
        return stacked_table(runs, label)
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
        lines += idle_lines(runs)
        full = sum(r[MODES_COVERED] == k for r in runs)
        lines.append(f"  all {k} modes in {full} of {len(runs)} seeds; {int(runs[0]['steps']):,} steps a run. "
                     f"Targets: all modes in >= 9 of 10 seeds, HQ >= {hq_target:g} %, rKL <= {rkl_target:g}, "
                     f"<= {TIME_TARGET[name]:.0f} s a run.")
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
    p.add_argument("--set", nargs="*", action="extend", default=[], dest="overrides", metavar="SECTION.KEY=VALUE",
                   help="change the recipe, e.g. model.pack=4 train.steps=10000")
    p.add_argument("--data-dir", default=str(DEFAULT_MNIST),
                   help=f"stacked MNIST: the folder of the MNIST IDX files ({DEFAULT_MNIST})")
    p.add_argument("--trace", type=int, default=0, metavar="STEPS", help="also score every STEPS steps (probes)")
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
        if name == STACKED:
            score, ref = stacked_scorer(load_dataset(DataConfig(name="mnist", data_dir=a.data_dir)))
        else:
            score, ref = point_scorer(load_dataset(preset_config(default_preset_for(name)).data)), {}
        for seed in range(a.first, a.first + a.seeds):
            r = {**one_run(name, seed, a.overrides, score, a.data_dir, a.trace), **ref, "seed": seed}
            results[name].append(r)
            print(f"  {name} seed {seed}: {describe(r)}, {r['seconds']:.0f} s wall"
                  f" ({r['steps'] / r['seconds']:.0f} steps/s), {r['cpu_seconds']:.0f} s CPU "
                  f"({r['steps'] / r['cpu_seconds']:.0f} steps/s)", flush=True)
            if a.json:  # after every run: a long bench stopped early keeps what it measured
                Path(a.json).write_text(json.dumps(results, indent=1))
    print_tables(results)
    others = meter.others()
    print(f"Other processes used {others:.1f} cores on average meanwhile." if others is not None else "")


if __name__ == "__main__":
    main()
