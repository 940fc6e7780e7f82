"""Held-out judges for the quality bench: per labelled set, a small CNN trained once on real images the GAN never sees.

A judge scores generated samples three ways:
- recognisable: the share of samples it classifies with probability >= 0.9;
- class shares: the share of samples given to each class (the real sets have about equal shares);
- fd: the Fréchet distance between its penultimate features of the samples and of held-out real images, printed
  with `floor`, the same distance between two sets of real images (what a perfect generator would score).

Shapes: the judge trains on the renderer's output at JUDGE_SEED, a seed no training run uses (runs use 0-99).
MNIST: the 10,000 test images are split in two fixed halves (mnist_halves): the GAN trains on one, the judge on the
other. Judges are cached under the data folder's `stats/` and retrained when their recipe (JUDGE_VERSION) changes.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gan_core.data import ImageData
from gan_core.data.mnist import MNIST_CLASSES
from gan_core.data.shapes import SHAPE_NAMES, render_shapes
from gan_core.fileio import save_atomic
from gan_core.metrics.coverage import (RECOGNISABLE_P, Classifier, new_classifier, predict_proba, prepare,
                                       train_classifier)
from gan_core.metrics.quality import frechet_distance, psd_sqrt

JUDGE_VERSION = "judge-v1"
JUDGE_SEED = 987_654  # renderer seed of the shapes judge's images; training runs use small seeds
WIDTHS = (32, 64, 128)  # wider than the live coverage classifier: the judge is trained once and cached
EPOCHS, MAX_STEPS = 20, 3000
SPLIT_SEED = 2024  # the fixed permutation that splits the MNIST test set into the GAN's half and the judge's half
NUM_REAL = 2000  # real images per side of the floor, and in the reference statistics


@dataclass
class Judge:
    """A trained classifier plus the statistics of its features on held-out real images."""

    name: str
    class_names: list[str]
    model: Classifier
    accuracy: float  # on the judge's own held-out 10%
    mu: torch.Tensor  # F, mean feature of real images
    sqrt_cov: torch.Tensor  # F x F, square root of their covariance
    trace_cov: float
    floor: float  # fd between two disjoint sets of NUM_REAL real images

    def score(self, samples: torch.Tensor) -> dict[str, float | list[float]]:
        """recognisable, shares (one per class), fd and floor for uint8 samples N x C x H x W."""
        probs = predict_proba(self.model, samples)  # N x K
        conf, cls = probs.max(1)
        shares = torch.bincount(cls, minlength=len(self.class_names)).double() / max(len(cls), 1)
        f = features(self.model, samples)
        return {"recognisable": float((conf >= RECOGNISABLE_P).float().mean()),
                "shares": [float(s) for s in shares],
                "fd": frechet_distance(self.mu, self.sqrt_cov, self.trace_cov, f.mean(0), torch.cov(f.T)),
                "floor": self.floor}


def mnist_halves(data_dir: str | Path) -> tuple[ImageData, ImageData]:
    """(the GAN's half, the judge's half) of the MNIST test set in data_dir: 5,000 images each, fixed."""
    folder = Path(data_dir)
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    x, y = torch.from_numpy(images.copy()), torch.from_numpy(labels.copy())
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(SPLIT_SEED))
    half = len(x) // 2
    gan, judge = perm[:half], perm[half:]
    return (ImageData(x[gan].contiguous(), y[gan].contiguous(), list(MNIST_CLASSES), "mnist"),
            ImageData(x[judge].contiguous(), y[judge].contiguous(), list(MNIST_CLASSES), "mnist"))


def shapes_real(n: int = 20_000, size: int = 32) -> ImageData:
    """The shapes judge's real images: the mixed renderer at JUDGE_SEED."""
    images, labels = render_shapes(n, size, "mixed", JUDGE_SEED)
    return ImageData(torch.from_numpy(images), torch.from_numpy(labels), list(SHAPE_NAMES), "shapes")


@torch.no_grad()
def features(model: Classifier, images: torch.Tensor) -> torch.Tensor:
    """uint8 N x C x H x W -> float64 N x F penultimate features of a judge's classifier."""
    return torch.cat([model.features(prepare(c, model.channels)).double() for c in images.split(1000)])


def build_judge(real: ImageData, cache_dir: str | Path | None = None, max_steps: int = MAX_STEPS) -> Judge:
    """Train (or load from cache_dir) the judge for a labelled set of real images the GAN does not train on."""
    assert real.labels is not None, "a judge needs labels"
    k = real.num_classes
    path = None if cache_dir is None else Path(cache_dir) / f"{JUDGE_VERSION}-{real.name}-{len(real)}-{max_steps}.pt"
    if path is not None and path.is_file():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        model = new_classifier(real.shape[0], k, WIDTHS)  # a shell for the cached weights (channels-last, as trained)
        model.load_state_dict(saved["model"])
        model.eval()
        return Judge(real.name, list(real.class_names or []), model, saved["accuracy"], saved["mu"],
                     saved["sqrt_cov"], saved["trace_cov"], saved["floor"])
    model, accuracy = train_classifier(real.images, real.labels, k, epochs=EPOCHS, max_steps=max_steps, widths=WIDTHS)
    # Reference statistics from one set of real images, the floor from a disjoint second set of the same size.
    n = min(NUM_REAL, len(real) // 2)
    pick = torch.randperm(len(real), generator=torch.Generator().manual_seed(0))
    ref, other = features(model, real.images[pick[:n]]), features(model, real.images[pick[n:2 * n]])
    cov = torch.cov(ref.T)
    stats = {"mu": ref.mean(0), "sqrt_cov": psd_sqrt(cov), "trace_cov": float(cov.trace())}
    stats["floor"] = frechet_distance(stats["mu"], stats["sqrt_cov"], stats["trace_cov"], other.mean(0),
                                      torch.cov(other.T))
    if path is not None:
        save_atomic({"model": model.state_dict(), "accuracy": accuracy, **stats}, path)
    return Judge(real.name, list(real.class_names or []), model, accuracy, **stats)
