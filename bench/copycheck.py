"""Time of precision, recall and the copy rate: 2,000 samples against 2,000 real images, on the quality worker's one
thread (python bench/copycheck.py; ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 emulates an AVX2-only CPU)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from machine import LoadMeter, cpu_name  # noqa: E402

from gan_core.config import DataConfig  # noqa: E402
from gan_core.data.shapes import load_shapes  # noqa: E402
from gan_core.metrics import QualityScorer, precision_recall  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--num", type=int, default=2000, help="samples and real images (default 2,000 each)")
    parser.add_argument("--rounds", type=int, default=5)
    a = parser.parse_args()
    torch.set_num_threads(1)  # as the quality worker (callbacks.QualityScore) runs
    train = load_shapes(DataConfig(name="shapes", num_samples=a.num, image_size=32, seed=0))
    samples = load_shapes(DataConfig(name="shapes", num_samples=a.num, image_size=32, seed=1)).images
    started = time.perf_counter()
    scorer = QualityScorer(train, cache_dir=None, num_real=a.num, coverage=False)  # once per set, cached on disk
    build = time.perf_counter() - started
    check = scorer.copy_check
    assert check is not None
    real = scorer._real_feats / scorer._real_feats.shape[1] ** 0.5  # the standardised real features score() uses
    times: dict[str, list[float]] = {"features of the samples (shared with the Fréchet score)": [],
                                     "precision + recall": [], "copy rate": [], "precision + recall + copy rate": []}
    meter = LoadMeter()
    for _ in range(a.rounds):
        t0 = time.perf_counter()
        z = scorer.features(samples)
        t1 = time.perf_counter()
        precision_recall(real, z)
        t2 = time.perf_counter()
        report = check.check(samples, z)
        t3 = time.perf_counter()
        for name, value in zip(times, (t1 - t0, t2 - t1, t3 - t2, t3 - t1)):
            times[name].append(value)
    others = meter.others()
    isa = os.environ.get("ATEN_CPU_CAPABILITY", "native")
    print(f"{cpu_name()} · torch {torch.__version__} · 1 thread · ISA {isa} · other processes used "
          f"{others:.2f} cores" if others is not None else "")
    print(f"{a.num:,} samples vs {a.num:,} real images; copy rate {report.rate:.1%} (threshold {report.threshold:.3f});"
          f" real side built once in {build:.1f} s (cached on disk per data set)")
    for name, values in times.items():
        print(f"  {name:58s} median {statistics.median(values):5.2f} s  (min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
