"""What the run writer's fsyncs cost: a real run with RunWriter, fsyncing every file (the old rule) or only what must
survive a crash (checkpoints, the fresh metrics log, the final meta.json).

Run by hand (never a timed test):

    python bench/writer_io.py                      # mnist-mlp-small, 3000 steps, 3 rounds, alternating
    python bench/writer_io.py --steps 5000 --rounds 5 --sample-every 50

Both modes run alternately in this process on the same data, so the machine's load hits both alike; it prints
images/second per mode and their ratio, with the load other processes put on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import gan_core  # noqa: E402, F401  (before torch: the engine's OpenMP settings apply only then)
from machine import LoadMeter, cpu_name  # noqa: E402

from gan_core import fileio  # noqa: E402
from gan_core.data import load_dataset  # noqa: E402
from gan_core.presets import preset_config  # noqa: E402
from gan_core.runs.folders import RunWriter  # noqa: E402
from gan_core.train.trainer import Trainer  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "mnist"
WRITE_WITH = fileio.write_with


def always_durable(path, write, durable=True):  # noqa: ANN001, ANN201 - write_with's signature, fsync forced
    return WRITE_WITH(path, write, True)


def one_run(cfg, data, folder: Path, fsync_all: bool) -> float:  # noqa: ANN001
    """Images/second of a run with its writer (the steps, grids, heartbeats, checkpoints and the final files)."""
    fileio.write_with = always_durable if fsync_all else WRITE_WITH
    try:
        trainer = Trainer(cfg, data=data)
        writer = RunWriter(folder)
        start = time.perf_counter()
        writer.start(trainer)
        trainer.run(on_step=writer.on_step)
        writer.finish(trainer, "done")
        return cfg.train.steps * cfg.train.batch_size / (time.perf_counter() - start)
    finally:
        fileio.write_with = WRITE_WITH


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="mnist-mlp-small")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--sample-every", type=int, help="grid interval (default: the preset's)")
    p.add_argument("--data-dir", default=str(DEFAULT_DATA))
    a = p.parse_args()
    cfg = preset_config(a.preset, data_dir=a.data_dir, download=False)
    cfg.train.steps, cfg.train.quality_every = a.steps, 0  # the writer's cost alone, not the scores'
    if a.sample_every:
        cfg.train.sample_every = a.sample_every
    data = load_dataset(cfg.data)
    rates: dict[str, list[float]] = {"fsync every file": [], "fsync what must survive": []}
    meter = LoadMeter()
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):
            for i, mode in enumerate(rates):  # a fresh folder per run: a new run refuses a folder holding one
                rates[mode].append(one_run(cfg, data, Path(tmp) / f"mode{i}-round{r}", mode == "fsync every file"))
    print(f"{a.preset}, {a.steps} steps x {a.rounds} rounds, grids every {cfg.train.sample_every} steps, "
          f"checkpoints every {cfg.train.checkpoint_every}; {cpu_name()}")
    for mode, values in rates.items():
        print(f"  {mode:24s} median {statistics.median(values):8.0f} img/s  ({', '.join(f'{v:.0f}' for v in values)})")
    old, new = (statistics.median(v) for v in rates.values())
    others = meter.others()
    print(f"  ratio new/old: {new / old:.3f}" + (f"; other processes used {others:.1f} cores meanwhile" if others
                                                   is not None else ""))


if __name__ == "__main__":
    main()
