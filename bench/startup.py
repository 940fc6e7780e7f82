"""Start -> step 1 and Start -> first grid, from the app's job and from the CLI, cold (empty data folder) and warm.

Run by hand (never a timed test):

    python bench/startup.py                          # shapes-default, app job and CLI, cold then warm
    python bench/startup.py --preset mnist-default --data-dir ../shared/data/mnist
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 python bench/startup.py --no-amp   # the slow machine's ISA

"Cold" is a fresh, empty data folder ($GAN_WORKBENCH_DATA): nothing cached (shapes drawn, real statistics and the
coverage classifier built); "warm" is a second start on the same folder. The app's job is timed in this process from
JobRegistry.start (what the Start button calls) until its snapshot shows step 1 and a grid; the CLI is timed from
launching `python -m gan_core train` (interpreter and torch import included) until its first grid file, written at
step 1. Each start is stopped once its first grid is there. Figures on a shared machine vary: compare the columns of
one run, and read the other processes' load printed beside them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import LoadMeter, cpu_name  # noqa: E402
from gan_core.data.base import DATA_ENV  # noqa: E402

POLL = 0.01  # seconds between looks at the job or the run folder
LIMIT = 180.0  # give up on a start after this long


def time_job(preset: str, run_dir: Path, data_dir: str | None, amp: bool) -> tuple[float, float]:
    """(Start -> step 1, Start -> first grid) of the app's TrainingJob, in seconds."""
    from gan_core.job import JobRegistry
    from gan_core.presets import preset_config

    cfg = preset_config(preset, **({"data_dir": data_dir} if data_dir else {}))
    cfg.train.amp = amp
    started = time.perf_counter()
    job = JobRegistry().start(cfg, run_dir)
    step1 = grid = None
    while (step1 is None or grid is None) and time.perf_counter() - started < LIMIT:
        snap = job.snapshot()
        now = time.perf_counter() - started
        if step1 is None and snap.step >= 1:
            step1 = now
        if grid is None and snap.grid is not None:
            grid = now
        if snap.status == "failed":
            raise SystemExit(f"the job failed: {snap.error}")
        time.sleep(POLL)
    job.stop()
    job.join()
    return step1 or float("nan"), grid or float("nan")


def time_cli(preset: str, run_dir: Path, data_dir: str | None, amp: bool) -> float:
    """Start -> first grid file (written at step 1) of `python -m gan_core train`, in seconds."""
    cmd = [sys.executable, "-m", "gan_core", "train", "--preset", preset, "--out", str(run_dir),
           "--amp" if amp else "--no-amp", *(["--data-dir", data_dir] if data_dir else [])]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=Path(__file__).resolve().parents[1])
    first = None
    while first is None and proc.poll() is None and time.perf_counter() - started < LIMIT:
        if (run_dir / "grids").is_dir() and any((run_dir / "grids").iterdir()):
            first = time.perf_counter() - started
        time.sleep(POLL)
    proc.terminate()
    proc.wait()
    return first or float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="shapes-default")
    p.add_argument("--data-dir", help="where the data set's files are (MNIST: ../shared/data/mnist)")
    p.add_argument("--no-amp", dest="amp", action="store_false", help="fp32 even where bf16 is faster")
    a = p.parse_args()
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; ATEN_CPU_CAPABILITY="
          f"{os.environ.get('ATEN_CPU_CAPABILITY', '(native)')}; {'bf16 where faster' if a.amp else 'fp32'}")
    print(f"{'who':8s} {'cache':5s} {'step 1 s':>9s} {'grid s':>7s} {'others':>7s}")
    with tempfile.TemporaryDirectory() as tmp:
        for who in ("app job", "CLI"):
            data = Path(tmp) / who.replace(" ", "-") / "data"
            data.mkdir(parents=True)
            os.environ[DATA_ENV] = str(data)  # the job reads it in this process, the CLI inherits it
            for n, cache in enumerate(("cold", "warm")):
                run_dir = data.parent / f"run-{n}"
                meter = LoadMeter()
                if who == "app job":
                    step1, grid = time_job(a.preset, run_dir, a.data_dir, a.amp)
                else:
                    step1 = grid = time_cli(a.preset, run_dir, a.data_dir, a.amp)
                others = meter.others()
                print(f"{who:8s} {cache:5s} {step1:9.2f} {grid:7.2f} "
                      f"{'?' if others is None else f'{others:.2f}':>7s}", flush=True)


if __name__ == "__main__":
    main()
