"""What a judge's Fréchet distance means: real images, degraded in known ways, scored like generated samples.

Run by hand (a minute on 1 core; the judges are cached under the data folder's stats/):

    python bench/judge_scale.py                       # shapes
    python bench/judge_scale.py --set mnist           # MNIST, the GAN's half of ../shared/data/mnist

Prints, per degradation, the judge's recognisable share and fd, and fd as a multiple of the real-vs-real floor. The
GAN's own training images (not the judge's) are the undegraded row, so it shows how far a perfect copy of the
training set sits from the judge's real statistics.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.judges import build_judge, mnist_halves, shapes_real  # noqa: E402
from bench.machine import machine_class  # noqa: E402
from gan_core.config import DataConfig  # noqa: E402
from gan_core.data import load_dataset  # noqa: E402
from gan_core.data.base import data_root  # noqa: E402

DEFAULT_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"

Degrade = Callable[[torch.Tensor], torch.Tensor]  # float N x C x H x W in [-1, 1] -> the same shape


def _darkest_to_black(x: torch.Tensor) -> torch.Tensor:
    # Shapes' backgrounds are tinted 0-40 of 255 per channel (-1 to -0.69): the GAN samples' near-black grounds.
    return torch.where(x < -0.68, torch.full_like(x, -1.0), x)


DEGRADATIONS: dict[str, Degrade] = {
    "none (the GAN's training images)": lambda x: x,
    "gaussian noise, sigma 0.05": lambda x: x + 0.05 * torch.randn_like(x),
    "gaussian noise, sigma 0.1": lambda x: x + 0.1 * torch.randn_like(x),
    "3 x 3 box blur": lambda x: F.avg_pool2d(x, 3, 1, 1, count_include_pad=False),
    "half resolution, upsampled (bilinear)": lambda x: F.interpolate(
        F.interpolate(x, scale_factor=0.5, mode="area"), size=x.shape[-2:], mode="bilinear"),
    "contrast x 1.5 (saturated colours)": lambda x: x * 1.5 + 0.5,
    "backgrounds to black": _darkest_to_black,
    "shifted 1 pixel (wrap-around)": lambda x: torch.roll(x, 1, dims=3),
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--set", choices=("shapes", "mnist"), default="shapes")
    p.add_argument("--data-dir", default=str(DEFAULT_MNIST), help="folder with the MNIST IDX files")
    p.add_argument("--samples", type=int, default=2000, help="images per row (the quality bench scores 2,000)")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print(machine_class().describe(), flush=True)
    if a.set == "mnist":
        train, real = mnist_halves(a.data_dir)
    else:
        train, real = load_dataset(DataConfig(name="shapes", image_size=32)), shapes_real(size=32)
    judge = build_judge(real, data_root() / "stats")
    x = train.images[: a.samples].float() / 127.5 - 1  # N x C x H x W in [-1, 1]
    print(f"\n{a.set} judge: fd floor (real vs real) {judge.floor:.2f}\n")
    print("| real images, degraded | recognisable | fd | fd / floor |")
    print("| --- | ---: | ---: | ---: |")
    for name, degrade in DEGRADATIONS.items():
        if a.set == "mnist" and "background" in name:
            continue  # MNIST's grounds are black already
        y = ((degrade(x).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        r = judge.score(y)
        print(f"| {name} | {r['recognisable']:.1%} | {r['fd']:.1f} | {r['fd'] / judge.floor:.1f}x |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
