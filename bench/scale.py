"""How training scales over processes: images/second of 1 and N processes under torchrun (DDP), and their ratio.

Run by hand (never a timed test):

    python bench/scale.py                          # CPU: 1 and 2 processes (gloo), 1 thread each, 3 rounds
    python bench/scale.py --procs 4 --threads 2    # CPU: 1 and 4 processes of 2 threads each
    python bench/scale.py --device cuda            # 1 and N GPUs (N: the visible GPUs; NCCL)

Every run is the CLI (`python -m gan_core train`, under `python -m torch.distributed.run --standalone
--nproc_per_node=N` for N > 1) on the same recipe with the same batch per process, so N processes train on N times
the global batch (weak scaling). Images/second is the trainer's own figure (all processes' images, training time
only), the median of its log entries after the first (warm-up), read from the run's last checkpoint. Rounds
alternate 1, N, 1, N, ... so a change in machine load hits both. On the CPU a third row gives the same cores to one
process as threads instead, the alternative to DDP on one machine.
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

import torch  # noqa: E402
from machine import LoadMeter, cpu_name  # noqa: E402

from gan_core.runs.checkpoints import latest_valid_checkpoint  # noqa: E402
from gan_core.metric_names import IMAGES_PER_SECOND  # noqa: E402


def train_rate(procs: int, threads: int, a: argparse.Namespace, folder: Path) -> float:
    """Median images/second (all processes together) of one CLI run with `procs` processes of `threads` threads."""
    out = folder / f"run-{procs}x{threads}-{time.monotonic_ns()}"
    args = ["train", "--preset", a.preset, "--steps", str(a.steps), "--batch-size", str(a.batch_size),
            "--device", a.device, "--quality-every", "0", "--sample-every", str(a.steps),
            "--checkpoint-every", str(a.steps), "--out", str(out)]
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}"]
                if procs > 1 else [sys.executable])
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), GAN_WORKBENCH_THREADS=str(threads))
    done = subprocess.run([*launcher, "-m", "gan_core", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=3600)
    found = latest_valid_checkpoint(out)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"the run with {procs} process(es) failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    rates = [e[IMAGES_PER_SECOND] for e in found[1]["history"] if IMAGES_PER_SECOND in e][1:]
    if not rates:
        raise SystemExit(f"--steps {a.steps} is too short: it logged no rate after the first (every 10 steps)")
    return statistics.median(rates)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--procs", type=int, help="processes to compare with one (default: 2 on the CPU, the GPUs on CUDA)")
    p.add_argument("--threads", type=int, default=1, help="CPU: intra-op threads per process")
    p.add_argument("--preset", default="shapes-default")
    p.add_argument("--batch-size", type=int, default=64, help="per process")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args(argv)
    if a.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA GPU is visible here.")
    n = a.procs or (torch.cuda.device_count() if a.device == "cuda" else 2)
    if a.device == "cpu":
        print(f"CPU: {cpu_name()}, {os.cpu_count()} logical cores; torch {torch.__version__}")
    else:
        print(f"GPU: {n} x {torch.cuda.get_device_name(0)}; torch {torch.__version__}")
    print(f"{a.preset}, batch {a.batch_size} per process, {a.steps} steps per run, {a.rounds} rounds\n")
    setups = [(1, a.threads), (n, a.threads)]
    if a.device == "cpu":
        setups.append((1, a.threads * n))  # the same cores as threads of one process
    rates: dict[tuple[int, int], list[float]] = {s: [] for s in setups}
    meter = LoadMeter(children=True)  # the runs are this script's children, not other load
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("GAN_WORKBENCH_DATA", str(Path(tmp) / "data"))
        for _ in range(a.rounds):
            for procs, threads in setups:
                rates[(procs, threads)].append(train_rate(procs, threads, a, Path(tmp)))
    base = rates[(1, a.threads)]
    print("| processes | threads each | global batch | img/s (median) | min-max | vs 1 process (median, min-max) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for (procs, threads), r in rates.items():
        ratios = [x / b for x, b in zip(r, base)]  # per round: the runs next to each other
        print(f"| {procs} | {threads if a.device == 'cpu' else '-'} | {a.batch_size * procs} | "
              f"{statistics.median(r):,.0f} | {min(r):,.0f}-{max(r):,.0f} | **{statistics.median(ratios):.2f}** "
              f"({min(ratios):.2f}-{max(ratios):.2f}) |")
    scaling = statistics.median(rates[(n, a.threads)]) / statistics.median(base)
    print(f"\nscaling ratio, {n} processes / 1 (medians): {scaling:.2f} (ideal {n})")
    others = meter.others()
    if others is not None:
        print(f"other processes used {others:.2f} of {os.cpu_count()} cores on average meanwhile")


if __name__ == "__main__":
    main()
