"""What a run costs beyond its steps: the CLI end to end against Trainer.step() alone and the tutorial's own loop.

Run by hand (never a timed test):

    python bench/overhead.py                         # shapes-default and mnist-mlp-small, 3 rounds
    python bench/overhead.py --recipes mnist-mlp-small --steps 3000 --rounds 5

Per round and recipe, alternately and on the same data: (a) `Trainer.step()` alone in this process, the engine's
floor; (b) `python -m gan_core train --preset R --steps N` in a subprocess, timed from its training bar's first line
to its exit, so it includes the grids, previews, quality scores, health checks, logs, TensorBoard events and
checkpoints of a real run (not the data loading before it); (c) for the tutorial recipes, the tutorial's own loop
(bench/tutorials.py). It prints images/second and the ratios b/a (target >= 0.9) and b/c (target >= 1).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import gan_core  # noqa: E402, F401  (before torch: the engine's OpenMP settings apply only then)
import torch  # noqa: E402
import tutorials  # noqa: E402
from machine import cpu_name  # noqa: E402
from speed import time_engine, time_tutorial  # noqa: E402

from gan_core.data import load_dataset  # noqa: E402
from gan_core.settings import DOMAINS  # noqa: E402
from gan_core.presets import preset_config  # noqa: E402
from gan_core.train.trainer import Trainer  # noqa: E402

MAX_STEPS = int(DOMAINS[("train", "steps")].high)  # train until told to stop
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mnist"
STEPS = {"shapes-default": 1500, "mnist-mlp-small": 20000}  # about 30 s each; mnist-mlp-small: its preset's length


def cli_rate(preset: str, steps: int, data_dir: str, folder: Path) -> float:
    """Images/second of a CLI training run from its training bar's first line to its exit (the real statistics and
    classifier are built, or loaded from the cache, before that bar starts)."""
    cmd = [sys.executable, "-m", "gan_core", "train", "--preset", preset, "--steps", str(steps),
           "--out", str(folder / f"{preset}-{time.monotonic_ns()}")]
    if preset.startswith(("mnist", "fashion")):
        cmd += ["--data-dir", data_dir]
    proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    started = None
    for line in proc.stderr:
        if started is None and f"0/{steps} steps" in line:
            started = time.perf_counter()
    proc.wait()
    if proc.returncode != 0 or started is None:
        raise SystemExit(f"the CLI run of {preset} failed (exit {proc.returncode})")
    return steps * preset_config(preset).train.batch_size / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recipes", nargs="+", default=list(STEPS))
    p.add_argument("--steps", type=int, help="CLI steps per round (default: about 30 s of training per recipe)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--data-dir", default=str(DEFAULT_DATA))
    a = p.parse_args(argv)
    print(f"CPU: {cpu_name()}, {os.cpu_count()} logical cores; torch {torch.__version__}; load average "
          f"{os.getloadavg()[0]:.2f} at the start\n")
    print("| recipe | (a) step() img/s | (b) CLI end to end img/s | (c) tutorial img/s | b/a | b/c |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("GAN_WORKBENCH_DATA", str(Path(tmp) / "data"))  # fresh caches: the CLI pays them once
        for name in a.recipes:
            steps = a.steps or STEPS.get(name, 1000)
            cfg = preset_config(name, **({"data_dir": a.data_dir} if name.startswith("mnist") else {}))
            cfg.train.device, cfg.train.steps = "cpu", MAX_STEPS
            trainer = Trainer(cfg, callbacks=[])
            threads = torch.get_num_threads()
            seconds = steps * cfg.train.batch_size / max(time_engine(trainer, 2.0), 1.0)  # the CLI run's length
            tutorial = None
            if name in tutorials.RECIPES:
                tutorial = tutorials.tutorial_loop(cfg, load_dataset(cfg.data), tutorials.RECIPES[name].loop)
            rates: dict[str, list[float]] = {"a": [], "b": [], "c": []}
            for _ in range(a.rounds):
                torch.set_num_threads(threads)
                rates["a"].append(time_engine(trainer, seconds))
                rates["b"].append(cli_rate(name, steps, a.data_dir, Path(tmp)))
                if tutorial is not None:
                    torch.set_num_threads(threads)
                    rates["c"].append(time_tutorial(tutorial, cfg.train.batch_size, seconds))
            med = {k: statistics.median(v) if v else None for k, v in rates.items()}
            ba = [b / x for b, x in zip(rates["b"], rates["a"])]
            bc = [b / x for b, x in zip(rates["b"], rates["c"])]

            def cell(r: list[float]) -> str:
                return f"**{statistics.median(r):.2f}** ({min(r):.2f}-{max(r):.2f})" if r else "-"

            tut = "-" if med["c"] is None else f"{med['c']:,.0f}"
            print(f"| {name} | {med['a']:,.0f} | {med['b']:,.0f} | {tut} | {cell(ba)} | {cell(bc)} |", flush=True)


if __name__ == "__main__":
    main()
