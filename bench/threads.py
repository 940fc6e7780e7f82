"""CPU threads and OpenMP waits: steps/s of the default recipes under each setting, idle and with one core busy.

Run by hand (never a timed test):

    python bench/threads.py                                  # the engine now vs PASSIVE on 2 threads vs 1 thread
    python bench/threads.py --settings passive spin:10000 spin:30000 spin:300000 one --rounds 2 --busy
    python bench/threads.py --recipes stacked_mnist-default:32 --seconds 10

Each (recipe, setting) is a fresh process (OpenMP reads its settings when torch loads) training the bare Trainer
(no callbacks) for --seconds after 20 steps; settings: `engine` (as gan_core sets them: a short spin, threads
confirmed by timing the run's own steps), `passive` (OMP_WAIT_POLICY=PASSIVE and all threads: the engine before
session 14), `spin:N` (GOMP_SPINCOUNT=N, all threads) and `one` (1 thread). --busy runs a spinning Python process
beside every measurement, as another job holding a core. Each line names the threads and precision the run used.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "mnist"
RECIPES = ("shapes-default", "mnist-default", "stacked_mnist-default:32", "stacked_mnist-default:64")
SETTINGS = ("passive", "engine", "one")


def setting_env(setting: str) -> dict[str, str]:
    """The environment of one setting (on top of this process's, without any OpenMP or thread variable of it)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "GAN_WORKBENCH_THREADS")}
    threads = str(os.cpu_count() or 1)
    if setting == "passive":
        env |= {"OMP_WAIT_POLICY": "PASSIVE", "GAN_WORKBENCH_THREADS": threads}
    elif setting.startswith("spin:"):
        env |= {"GOMP_SPINCOUNT": setting[5:], "GAN_WORKBENCH_THREADS": threads}
    elif setting == "one":
        env["GAN_WORKBENCH_THREADS"] = "1"
    elif setting != "engine":
        raise SystemExit(f"unknown setting {setting!r}")
    return env


def measure(recipe: str, seconds: float, data_dir: str) -> str:
    """(in the child process) Train `recipe` ('name' or 'name:batch') and return its figure line."""
    sys.path.insert(0, str(REPO))
    import gan_core  # noqa: F401  (before torch: the engine's OpenMP setting applies only then)
    from gan_core.data import load_dataset
    from gan_core.presets import preset_config
    from gan_core.train.trainer import Trainer

    name, _, batch = recipe.partition(":")
    cfg = preset_config(name)
    cfg.train.device, cfg.train.steps = "cpu", 1_000_000
    if batch:
        cfg.train.batch_size = int(batch)
    if "mnist" in name:
        cfg.data.data_dir = data_dir
    trainer = Trainer(cfg.validate(), data=load_dataset(cfg.data), callbacks=[])

    def step() -> None:  # as Trainer.run steps: the metrics are read every log_every steps
        trainer.step()
        if trainer.step_metrics.full:
            trainer.flush_metrics()

    for _ in range(20):  # warm-up: kernels built, memory allocated
        step()
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        step()
        steps += 1
    return f"{steps / (time.perf_counter() - started):6.1f} steps/s  ({trainer.hardware})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), help="preset or preset:batch")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--busy", action="store_true", help="a spinning process beside each measurement")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.child:
        print(measure(a.child, a.seconds, a.data_dir))
        return
    sys.path.insert(0, str(REPO / "bench"))
    from machine import cpu_name

    print(f"{cpu_name()}, {os.cpu_count()} logical CPUs; {'one core busy' if a.busy else 'idle'}")
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if a.busy else None
    try:
        for r in range(a.rounds):
            for recipe in a.recipes:
                for setting in a.settings:
                    cmd = [sys.executable, __file__, "--child", recipe, "--seconds", str(a.seconds),
                           "--data-dir", a.data_dir]
                    done = subprocess.run(cmd, env=setting_env(setting), capture_output=True, text=True)
                    line = done.stdout.strip() or f"failed: {done.stderr.strip().splitlines()[-1:]}"
                    print(f"round {r + 1}  {recipe:26s} {setting:12s} {line}", flush=True)
    finally:
        if busy is not None:
            busy.kill()


if __name__ == "__main__":
    main()
