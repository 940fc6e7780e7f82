"""Sample quality per CPU minute: each recipe trains on the real MNIST files for a fixed training-time budget.

Run by hand (never a timed test):

    python bench/quality.py                                   # 180 s per recipe, scored at 60/120/180 s (~10 min)
    python bench/quality.py --budget 90 --points 30 60 90     # shorter
    python bench/quality.py --recipes mnist-default --budget 60 --out /tmp/trial
    python bench/quality.py --threads 1 --clock cpu          # on a busy machine: count CPU seconds, one thread each

Each recipe (default: the tuned `mnist-default` against the small and deep MNIST tutorial recipes) is built with
`preset_config(name, data_dir=...)` and trained by the engine's Trainer until its *training* time
(`trainer.train_seconds`: steps, metric flushes and fixed-noise grids, as the app counts it) reaches each point.
There training pauses and 1,000 fresh samples of the sampling generator (the EMA copy where the recipe has one)
are scored with the QualityScorer, outside the training time: "quality" is the Fréchet distance in the fixed
random-feature space (lower is better; two halves of the real set ~0.02, one image repeated ~2, noise 20+),
"classes" the digits that get at least 5% of the samples by the coverage classifier, "KL" KL(generated || real)
of the predicted class histograms (0 = right proportions, log 10 = 2.3 = a single class), "diversity" the pixel
diversity of the samples relative to the real set's (1 = as varied as real digits, near 0 = one image).

By default the recipes train interleaved in one process (--slice seconds of training each, in turn), so a change in
the machine's load hits every recipe alike; --sequential trains them one after another. Each keeps its own thread
count (the Trainer's choice on this CPU, or --threads). Training time is wall-clock time, so other processes on the
machine slow every recipe down; with --clock cpu the budget counts this process's CPU seconds instead, which
other processes barely change (use it with --threads 1, where CPU seconds and idle-machine seconds agree). The fixed-noise grid of each recipe at each point is saved
under --out (default /tmp/gan_bench) as <recipe>-<t>s.png, and the last as <recipe>.png.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import gan_core  # noqa: E402, F401  (before torch: the engine's OpenMP settings apply only then)
import torch  # noqa: E402

from gan_core.data import data_root  # noqa: E402
from gan_core.errors import UserError  # noqa: E402
from gan_core.images import grid_image  # noqa: E402
from gan_core.metrics import QualityScorer, diversity  # noqa: E402
from gan_core.presets import PRESETS, preset_config  # noqa: E402
from gan_core.sampling import generate, sample_images  # noqa: E402
from gan_core.trainer import Trainer  # noqa: E402
from machine import LoadMeter, cpu_name  # noqa: E402

DEFAULT_RECIPES = ["mnist-default", "mnist-mlp-small", "mnist-mlp-deep"]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mnist"
NUM_SAMPLES = 1000


@dataclass
class Run:
    name: str
    trainer: Trainer
    threads: int
    points: list[dict[str, float]] = field(default_factory=list)
    cpu: float = 0.0  # CPU seconds spent in training (process time; the recipes train on one thread here)

    def clock(self, kind: str) -> float:
        return self.trainer.train_seconds if kind == "train" else self.cpu


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", type=float, default=180.0, help="training seconds per recipe (default 180)")
    p.add_argument("--points", type=float, nargs="+", help="training times to score at (default: thirds of the budget)")
    p.add_argument("--recipes", nargs="+", default=DEFAULT_RECIPES, choices=sorted(PRESETS), metavar="PRESET",
                   help=f"presets to compare (default: {' '.join(DEFAULT_RECIPES)})")
    p.add_argument("--data-dir", default=str(DEFAULT_DATA), help=f"folder with the IDX files (default {DEFAULT_DATA})")
    p.add_argument("--threads", type=int, help="intra-op threads for every recipe (default: the Trainer's choice)")
    p.add_argument("--out", default="/tmp/gan_bench", help="folder for the sample grids (default /tmp/gan_bench)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--slice", type=float, default=10.0, help="training seconds per turn when interleaving")
    p.add_argument("--sequential", action="store_true", help="train the recipes one after another, not interleaved")
    p.add_argument("--clock", choices=("train", "cpu"), default="train",
                   help="what the budget and points count: 'train' = the Trainer's training time (wall clock, as the "
                        "app shows it; default), 'cpu' = CPU seconds of this process while training (robust to other "
                        "processes on a busy machine; with one thread per recipe the two agree on an idle one)")
    a = p.parse_args(argv)
    a.points = sorted(set(a.points)) if a.points else [a.budget * k / 3 for k in (1, 2, 3)]
    if a.points[-1] > a.budget:
        a.budget = a.points[-1]
    return a


# ---- machine -----------------------------------------------------------------------------------------------------
def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


# ---- one recipe --------------------------------------------------------------------------------------------------
def build(name: str, a: argparse.Namespace) -> Run:
    cfg = preset_config(name, data_dir=a.data_dir)
    t = cfg.train
    t.device, t.seed = "cpu", a.seed
    t.steps, t.epochs = 10**9, None  # time decides, not steps
    t.quality_every = 0  # scored here, at the chosen training times
    t.max_seconds = None
    if a.threads:
        os.environ["GAN_WORKBENCH_THREADS"] = str(a.threads)
    trainer = Trainer(cfg)  # sets the recipe's thread count
    return Run(name, trainer, torch.get_num_threads())


def train_until(run: Run, seconds: float, clock: str) -> None:
    torch.set_num_threads(run.threads)  # process-wide: every recipe trains with its own count
    tr = run.trainer
    start, base = time.process_time(), run.cpu
    if clock == "train":
        tr.run(lambda: tr.train_seconds >= seconds)
    else:
        tr.run(lambda: base + time.process_time() - start >= seconds)
    run.cpu = base + time.process_time() - start


def score(run: Run, scorer: QualityScorer, out: Path, clock: str) -> dict[str, float]:
    """1,000 fresh samples scored against the real set (not training time); saves the fixed-noise grid."""
    tr = run.trainer
    grid = generate(tr.sampler, tr.fixed_z, tr.fixed_y)
    # Its own random stream: scoring never changes the training's (the same draws at each step count).
    samples = sample_images(tr.sampler, NUM_SAMPLES, torch.Generator(tr.device).manual_seed(tr.step_count))
    entry: dict[str, float] = {"step": tr.step_count}
    entry.update(scorer.score(samples))
    entry["diversity"] = diversity(samples)
    tr.report(dict(entry))  # into the history and the health monitor, as the app's quality scores go
    recent = [h for h in tr.history if "img/s" in h][-5:]
    entry.update(time=tr.train_seconds, cpu=run.cpu, epoch=tr.epoch,
                 **{"img/s": sum(h["img/s"] for h in recent) / max(len(recent), 1)})
    label = f"{run.clock(clock):.0f}s"
    grid_image(grid).save(out / f"{run.name}-{label}.png")
    grid_image(grid).save(out / f"{run.name}.png")
    return entry


# ---- tables ------------------------------------------------------------------------------------------------------
def fmt(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def print_tables(runs: list[Run], points: list[float], clock: str) -> None:
    print("\nOver time (1,000 samples per score; quality = Fréchet distance, lower is better):\n")
    print("| recipe | training s | CPU s | steps | epochs | img/s | quality | KID | classes | KL | diversity |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in runs:
        for e in r.points:
            print(f"| {r.name} | {e['time']:.0f} | {e['cpu']:.0f} | {e['step']:.0f} | {e['epoch']:.1f} | {e['img/s']:,.0f} | "
                  f"{e['quality']:.2f} | {e['kid']:.3g} | {e.get('coverage/classes', float('nan')):.0f} | "
                  f"{fmt(e.get('coverage/kl'))} | {e['diversity/real']:.2f} |")
    heads = " | ".join(f"score@{p:.0f}s" for p in points)
    what = "training seconds (wall clock)" if clock == "train" else "CPU seconds of training"
    print(f"\nSummary (points in {what}; score = quality, lower is better; classes, KL and diversity at the last "
          f"point, diversity relative to the real set's):\n")
    print(f"| recipe | {heads} | classes covered | KL | diversity | alerts |")
    print("| --- | " + " | ".join("---:" for _ in points) + " | ---: | ---: | ---: | --- |")
    for r in runs:
        last = r.points[-1]
        kinds = sorted({a["kind"] for a in r.trainer.alerts})
        cells = " | ".join(f"{e['quality']:.2f}" for e in r.points)
        print(f"| {r.name} | {cells} | {last.get('coverage/classes', float('nan')):.0f}/{r.trainer.num_classes} | {fmt(last.get('coverage/kl'))} | "
              f"{last['diversity/real']:.2f} | {', '.join(kinds) or 'none'} |")


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"CPU: {cpu_name()}, {os.cpu_count()} logical cores; torch {torch.__version__}; Python "
          f"{platform.python_version()}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}; "
          f"{load_text()} at the start", flush=True)
    try:
        runs = [build(name, a) for name in a.recipes]
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for r in runs:
        n = len(r.trainer.data)
        notices = "; ".join(r.trainer.data.notices)
        print(f"{r.name}: {PRESETS[r.name].description} [{n:,} images, {r.threads} thread(s)]"
              + (f" ({notices})" if notices else ""), flush=True)
    scorers: dict[str, tuple[QualityScorer, float]] = {}  # per data set: scorer, diversity of real images
    for r in runs:
        name = r.trainer.config.data.name
        if name not in scorers:
            t0 = time.monotonic()
            real = r.trainer.data
            pick = torch.randperm(len(real), generator=torch.Generator().manual_seed(0))[:NUM_SAMPLES]
            scorers[name] = (QualityScorer(real, data_root() / "stats"), diversity(real.images[pick]))
            s, d = scorers[name]  # real statistics and classifier are cached on disk after the first time
            print(f"{name} scorer ready in {time.monotonic() - t0:.0f}s (classifier accuracy "
                  f"{fmt(s.classifier_accuracy, 3)}); real diversity {d:.2f}", flush=True)
    meter = LoadMeter()
    started = time.monotonic()

    def checkpoint(r: Run) -> None:
        scorer, real_div = scorers[r.trainer.config.data.name]
        e = score(r, scorer, out, a.clock)
        e["diversity/real"] = e["diversity"] / real_div
        r.points.append(e)
        print(f"  {r.name:18s} train {e['time']:5.0f}s cpu {e['cpu']:5.0f}s step {e['step']:6.0f} quality {e['quality']:6.2f} "
              f"classes {e.get('coverage/classes', float('nan')):2.0f} KL {fmt(e.get('coverage/kl'))} "
              f"diversity {e['diversity/real']:.2f} | {load_text()}", flush=True)

    if a.sequential:
        for r in runs:
            for p in a.points:
                train_until(r, p, a.clock)
                checkpoint(r)
    else:
        targets = sorted(set(a.points) | {min(x, a.budget) for x in _range(a.slice, a.budget, a.slice)})
        for target in targets:
            for r in runs:
                train_until(r, target, a.clock)
                if any(abs(target - p) < 1e-9 for p in a.points):
                    checkpoint(r)
    others = meter.others()
    print(f"\nWall time {time.monotonic() - started:.0f}s; other processes used "
          f"{'?' if others is None else f'{others:.2f}'} of {os.cpu_count()} cores meanwhile; {load_text()} at the end.")
    print_tables(runs, a.points, a.clock)
    for r in runs:
        for alert in r.trainer.alerts:
            print(f"alert [{r.name}, step {alert['step']}]: {alert['message']}")
    print(f"\nGrids: {out}/<recipe>.png (last) and <recipe>-<t>s.png (each point).")
    return 0


def _range(start: float, stop: float, step: float) -> list[float]:
    out, x = [], start
    while x < stop + 1e-9:
        out.append(x)
        x += step
    return out + [stop]


if __name__ == "__main__":
    raise SystemExit(main())
