"""Time-to-quality: recipes train for fixed budgets (wall clock from Start by default) and held-out classifiers judge.

Run by hand (never a timed test):

    python bench/quality.py                                     # shapes-default and mnist-default, 3 seeds,
                                                                # scored at 30 60 120 180 300 s (~35 min)
    python bench/quality.py --candidates shapes-default mnist-default mnist-mlp-small --seeds 0 --points 60 180
    python bench/quality.py --candidates hinge=shapes-default:train.loss=hinge,model.d_norm=spectral \
        base=shapes-default --threads 1 --clock cpu --points 60 120 180   # compare variants of a recipe

A candidate is `PRESET` or `NAME=PRESET:section.key=value,...` (values parsed as JSON where they can be). Every
candidate trains with every seed in one process, interleaved (--slice seconds of training each, in turn), so a
change in the machine's load hits all of them alike. At each point training pauses and --samples fresh samples of
the sampling generator (the EMA copy where the recipe has one; classes drawn evenly for conditional models) are
scored outside the training time:

- by the set's held-out judge (bench/judges.py): **recognisable** (share classified with p >= 0.9), the class
  shares, and **fd**, the Fréchet distance in the judge's features, printed with the real-vs-real floor;
- by the engine's own QualityScorer: **quality**, the Fréchet distance in fixed random features (lower is better).

Shapes candidates train on the renderer's seed-0 set and are judged by a classifier trained on another seed; MNIST
candidates train on one fixed half of the MNIST test set in --data-dir and are judged by a classifier trained on the
other half. Grids of the fixed noise are saved under --out as <candidate>-s<seed>-<t>s.png.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import gan_core  # noqa: E402, F401  (before torch: the engine's OpenMP settings apply only then)
import torch  # noqa: E402

from gan_core.config import RunConfig  # noqa: E402
from gan_core.data import ImageData, data_root, load_dataset  # noqa: E402
from gan_core.errors import ConfigError, UserError  # noqa: E402
from gan_core.images import grid_image  # noqa: E402
from gan_core.metrics import QualityScorer  # noqa: E402
from gan_core import device  # noqa: E402
from gan_core.settings import DOMAINS  # noqa: E402
from gan_core.presets import preset_config  # noqa: E402
from gan_core.sampling import generate, sample_images  # noqa: E402
from gan_core.train.trainer import Trainer  # noqa: E402
from judges import Judge, build_judge, mnist_halves, shapes_real  # noqa: E402
from machine import LoadMeter, machine_class  # noqa: E402

DEFAULT_CANDIDATES = ["shapes-default", "mnist-default"]
MAX_STEPS = int(DOMAINS[("train", "steps")].high)  # train until told to stop
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mnist"
JUDGED_SETS = ("shapes", "mnist")


@dataclass
class Run:
    name: str
    seed: int
    trainer: Trainer
    threads: int
    points: list[dict] = field(default_factory=list)
    cpu: float = 0.0  # CPU seconds of this process spent training this run
    setup: float = 0.0  # wall seconds from Start to the first step: loading the data set, building the Trainer
    rate: float = 0.0  # --clock steps: steps per second of training on the idle machine
    half_speed: float = 1.0  # --clock steps, progressive runs: a half-resolution step's speed relative to a full one
    fade_speed: float = 1.0  # and a fade-in step's

    def budget_steps(self, seconds: float) -> int:
        """--clock steps: the steps trained `seconds` after Start: none during setup, then the half-resolution,
        fade-in and full steps of a progressive run each at their own rate (all at `rate` for other runs)."""
        t = self.trainer.config.train
        left, steps = max(0.0, seconds - self.setup), 0.0
        for count, speed in ((t.half_res_steps, self.half_speed), (t.fade_steps if t.half_res_steps else 0,
                                                                    self.fade_speed)):
            phase = min(left, count / (self.rate * speed))  # seconds spent in this phase
            steps, left = steps + phase * self.rate * speed, left - phase
        return round(steps + left * self.rate)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--candidates", nargs="+", default=DEFAULT_CANDIDATES, metavar="[NAME=]PRESET[:OVERRIDES]",
                   help=f"recipes to compare (default: {' '.join(DEFAULT_CANDIDATES)})")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds (default 0 1 2)")
    p.add_argument("--points", type=float, nargs="+", default=[30, 60, 120, 180, 300],
                   help="training seconds to score at (default 30 60 120 180 300)")
    p.add_argument("--samples", type=int, default=2000, help="samples scored per point (default 2000)")
    p.add_argument("--data-dir", default=str(DEFAULT_DATA), help=f"folder with the MNIST IDX files ({DEFAULT_DATA})")
    p.add_argument("--threads", type=int, help="intra-op threads for every run (default: the Trainer's choice)")
    p.add_argument("--out", default="/tmp/gan_bench", help="folder for the sample grids (default /tmp/gan_bench)")
    p.add_argument("--slice", type=float, default=10.0, help="training seconds per turn when interleaving")
    p.add_argument("--clock", choices=("wall", "train", "cpu", "steps"), default="wall",
                   help="what the points count: 'wall' = wall-clock seconds from pressing Start, the run's setup "
                        "(data set, models) included (default; on an idle machine), 'train' = the Trainer's training "
                        "time only, 'cpu' = CPU seconds of this process while training, 'steps' = (point - --setup) x "
                        "--rate steps (for a shared machine: step counts do not change with other processes' load)")
    p.add_argument("--rate", type=float, nargs="+",
                   help="with --clock steps: training steps per second on the idle machine, one for all candidates "
                        "or one each (bench/overhead.py measures it end to end)")
    p.add_argument("--setup", type=float, nargs="+", default=[0.0],
                   help="with --clock steps: seconds from Start to the first step on the machine the rate describes, "
                        "one for all candidates or one each (default 0)")
    p.add_argument("--half-speed", type=float, nargs="+", default=[1.0],
                   help="with --clock steps, for progressive candidates (train.half_res_steps > 0): the speed of a "
                        "half-resolution step relative to a full one, and --fade-speed of a fade-in step, one for "
                        "all candidates or one each (bench/progressive.py measures them; default 1)")
    p.add_argument("--fade-speed", type=float, nargs="+", default=[1.0], help="see --half-speed (default 1)")
    p.add_argument("--force-bf16", action="store_true",
                   help="bf16 autocast on the CPU without the engine's start-up probe, which is timed and may choose "
                        "fp32 on a busy machine (use only on CPUs where the idle probe picks bf16)")
    p.add_argument("--no-amp", action="store_true",
                   help="fp32 throughout, as on CPUs without bf16 (the AVX2 class): no bf16 autocast and no probe")
    p.add_argument("--json", help="also write every scored point to this JSON-lines file")
    a = p.parse_args(argv)
    a.points = sorted(set(a.points))
    if (a.clock == "steps") != bool(a.rate) or (a.rate and len(a.rate) not in (1, len(a.candidates))):
        p.error("--clock steps needs --rate: one steps/second for all candidates or one per candidate")
    for flag, values in (("--setup", a.setup), ("--half-speed", a.half_speed), ("--fade-speed", a.fade_speed)):
        if len(values) not in (1, len(a.candidates)):
            p.error(f"{flag}: one figure for all candidates or one per candidate")
    return a


def parse_candidate(spec: str) -> tuple[str, RunConfig]:
    """'[NAME=]PRESET[:section.key=value,...]' -> (name, config); raises ConfigError with the bad part named."""
    name, _, rest = spec.partition("=") if "=" in spec.split(":", 1)[0] else ("", "", spec)
    preset, _, overrides = rest.partition(":")
    cfg = preset_config(preset)
    d = cfg.to_dict()
    for item in filter(None, re.split(r",(?=(?:data|model|train)\.)", overrides)):  # values may hold commas
        key, sep, raw = item.partition("=")
        section, _, field_name = key.partition(".")
        if not sep or section not in ("data", "model", "train") or field_name not in d[section]:
            raise ConfigError(f"Cannot read override {item!r} of candidate {spec!r}: use section.key=value.")
        try:
            d[section][field_name] = json.loads(raw)
        except json.JSONDecodeError:
            d[section][field_name] = raw
    return name or preset, RunConfig.from_dict(d)


def bench_data(cfg: RunConfig, data_dir: str) -> tuple[ImageData, ImageData, float]:
    """(what the GAN trains on, the judge's real images, seconds to load the former) for a candidate's data set."""
    t0 = time.perf_counter()
    if cfg.data.name == "mnist":
        return *mnist_halves(data_dir), time.perf_counter() - t0  # one file holds both halves
    if cfg.data.name == "shapes" and cfg.data.shapes_mode == "mixed":
        data = load_dataset(cfg.data)
        seconds = time.perf_counter() - t0
        return data, shapes_real(size=data.shape[1]), seconds
    raise ConfigError(f"No held-out judge for {cfg.data.name!r}: the bench judges {', '.join(JUDGED_SETS)}.")


def build(name: str, cfg: RunConfig, seed: int, data: ImageData, threads: int | None, no_amp: bool = False,
          data_seconds: float = 0.0) -> Run:
    """A run ready to train; its setup time is data_seconds (loading the set) plus building the Trainer."""
    t0 = time.perf_counter()
    t = cfg.train
    t.device, t.seed = "cpu", seed
    # Time decides, not steps; a recipe whose learning rate decays over its steps keeps them, as in the product.
    t.steps, t.epochs, t.max_seconds = t.steps if t.lr_schedule != "constant" else MAX_STEPS, None, None
    t.quality_every = 0  # scored here, at the chosen training times
    t.amp = t.amp and not no_amp
    if threads:
        os.environ["GAN_WORKBENCH_THREADS"] = str(threads)
    trainer = Trainer(cfg, data=data)  # sets the recipe's thread count
    return Run(name, seed, trainer, torch.get_num_threads(), setup=data_seconds + time.perf_counter() - t0)


def train_until(run: Run, seconds: float, clock: str) -> None:
    torch.set_num_threads(run.threads)  # process-wide: every run trains with its own count
    tr = run.trainer
    start, base = time.process_time(), run.cpu
    if clock == "wall":
        tr.run(lambda: run.setup + tr.train_seconds >= seconds)
    elif clock == "train":
        tr.run(lambda: tr.train_seconds >= seconds)
    elif clock == "steps":
        target = run.budget_steps(seconds)
        tr.run(lambda: tr.step_count >= target)
    else:
        tr.run(lambda: base + time.process_time() - start >= seconds)
    run.cpu = base + time.process_time() - start


def score(run: Run, judge: Judge, scorer: QualityScorer, n: int, out: Path, label: str) -> dict:
    """n fresh samples scored by the judge and the random-feature scorer (not training time); saves the grid."""
    tr = run.trainer
    rng = torch.Generator().manual_seed(run.seed * 1_000_003 + tr.step_count)
    samples = sample_images(tr.sampler, n, rng)  # classes in turn for conditional models
    entry = {"candidate": run.name, "seed": run.seed, "time": round(tr.train_seconds, 1),
             "wall": round(run.setup + tr.train_seconds, 1), "cpu": round(run.cpu, 1),
             "step": tr.step_count, **judge.score(samples), "quality": scorer.score(samples)["quality"]}
    grid_image(generate(tr.sampler, tr.fixed_z, tr.fixed_y)).save(out / f"{run.name}-s{run.seed}-{label}.png")
    return entry


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_tables(runs: list[Run], points: list[float], judges: dict[str, Judge], clock: str) -> None:
    names = list(dict.fromkeys(r.name for r in runs))
    what = {"wall": "wall-clock seconds from Start, setup included", "train": "training seconds (wall clock)",
            "cpu": "CPU seconds of training", "steps": "seconds from Start at --rate steps/second after --setup"}[clock]
    heads = " | ".join(f"@{p:.0f}s" for p in points)
    print(f"\nRecognisable (judge p >= 0.9), median over seeds [min-max], at {what}:\n")
    print(f"| candidate | {heads} | steps @last |")
    print("| --- | " + " | ".join("---:" for _ in points) + " | ---: |")
    for name in names:
        group = [r for r in runs if r.name == name]
        cells = []
        for i in range(len(points)):
            vals = [r.points[i]["recognisable"] for r in group]
            cells.append(f"{median(vals):.1%} [{min(vals):.0%}-{max(vals):.0%}]")
        steps = median([r.points[-1]["step"] for r in group])
        print(f"| {name} | {' | '.join(cells)} | {steps:,.0f} |")
    print("\nAt the last point, median over seeds: class shares (min and max share), judge fd / real-vs-real floor, "
          "random-feature quality:\n")
    print("| candidate | set | class shares (median run) | min share | max share | fd | floor | fd/floor | quality |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in names:
        group = [r for r in runs if r.name == name]
        last = sorted((r.points[-1] for r in group), key=lambda e: e["fd"])
        mid = last[len(last) // 2]
        judge = judges[group[0].trainer.data.name]
        shares = ", ".join(f"{c} {s:.0%}" for c, s in zip(judge.class_names, mid["shares"]))
        fd = median([e["fd"] for e in last])
        print(f"| {name} | {judge.name} | {shares} | {median([min(e['shares']) for e in last]):.1%} | "
              f"{median([max(e['shares']) for e in last]):.1%} | {fd:.2f} | {judge.floor:.2f} | "
              f"{fd / judge.floor:.1f}x | {median([e['quality'] for e in last]):.3f} |")


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    if a.force_bf16:
        device.cpu_bf16_speedup = lambda: math.inf  # the probe's verdict, as if it had measured bf16 faster
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{machine_class().describe()}; torch {torch.__version__}; Python {platform.python_version()}; load "
          f"average {os.getloadavg()[0]:.2f} at the start", flush=True)
    judges: dict[str, Judge] = {}
    scorers: dict[str, QualityScorer] = {}
    runs: list[Run] = []
    try:
        for ci, spec in enumerate(a.candidates):
            name, cfg = parse_candidate(spec)
            data, real, data_seconds = bench_data(cfg, a.data_dir)
            if data.name not in judges:
                t0 = time.monotonic()
                judges[data.name] = build_judge(real, data_root() / "stats")
                scorers[data.name] = QualityScorer(data, data_root() / "stats")
                j = judges[data.name]
                print(f"{data.name} judge ready in {time.monotonic() - t0:.0f}s: held-out accuracy {j.accuracy:.3f}, "
                      f"on the GAN's real training images {j.score(data.images[:a.samples])['recognisable']:.1%} "
                      f"recognisable, "
                      f"fd floor {j.floor:.2f}", flush=True)
            for seed in a.seeds:
                runs.append(build(name, cfg.copy(), seed, data, a.threads, a.no_amp, data_seconds))
                if a.rate:
                    runs[-1].rate = a.rate[ci if len(a.rate) > 1 else 0]
                    runs[-1].setup = a.setup[ci if len(a.setup) > 1 else 0]
                    runs[-1].half_speed = a.half_speed[ci if len(a.half_speed) > 1 else 0]
                    runs[-1].fade_speed = a.fade_speed[ci if len(a.fade_speed) > 1 else 0]
            print(f"{name}: {len(data):,} training images, {runs[-1].threads} thread(s), {runs[-1].trainer.hardware}, "
                  f"setup {runs[-1].setup:.1f} s", flush=True)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    meter, started = LoadMeter(), time.monotonic()
    log = open(a.json, "a") if a.json else None  # noqa: SIM115 - open for the whole run
    targets = sorted(
        set(a.points) | {min(x * a.slice, a.points[-1]) for x in range(1, int(a.points[-1] / a.slice) + 1)}
    )
    for target in targets:
        for r in runs:
            train_until(r, target, a.clock)
            if target in a.points:
                e = score(r, judges[r.trainer.data.name], scorers[r.trainer.data.name], a.samples, out,
                          f"{target:.0f}s")
                r.points.append(e)
                shares = "/".join(f"{s:.0%}" for s in e["shares"])
                print(f"  {r.name:24s} seed {r.seed} t {e['time']:5.0f}s cpu {e['cpu']:5.0f}s step {e['step']:6d} "
                      f"recognisable {e['recognisable']:6.1%} shares {shares} fd {e['fd']:7.2f} "
                      f"quality {e['quality']:.3f}", flush=True)
                if log:
                    log.write(json.dumps(e) + "\n")
    others = meter.others()
    print(f"\nWall time {time.monotonic() - started:.0f}s; other processes used "
          f"{'?' if others is None else f'{others:.2f}'} of {os.cpu_count()} cores meanwhile.")
    print_tables(runs, a.points, judges, a.clock)
    print(f"\nGrids: {out}/<candidate>-s<seed>-<t>s.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
