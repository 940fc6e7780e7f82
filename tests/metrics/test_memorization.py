"""Copy check and precision/recall with known answers: training images, copies with noise or a shift, held-out
real images, noise and one class, on the synthetic shapes (the GAN's set at seed 0, held-out images at seed 1)."""

from __future__ import annotations

import pytest
import torch

from gan_core.config import DataConfig
from gan_core.data.shapes import load_shapes
from gan_core.metric_names import COPIES, COPY_REFERENCE, COPY_THRESHOLD, PRECISION, RECALL
from gan_core.metrics import QualityScorer, copy_pairs
from gan_core.metrics.memorization import FALSE_COPY_RATE, pixels

N_TRAIN, N, N_WIDE = 1500, 400, 1000  # training images; samples per case, and for the rates that need more


@pytest.fixture(scope="module")
def scored() -> dict:
    train = load_shapes(DataConfig(name="shapes", num_samples=N_TRAIN, image_size=32, seed=0))
    held = load_shapes(DataConfig(name="shapes", num_samples=N_WIDE, image_size=32, seed=1))
    scorer = QualityScorer(train, cache_dir=None, num_real=N_TRAIN, coverage=False)
    gen = torch.Generator().manual_seed(0)
    copies = train.images[torch.randperm(N_TRAIN, generator=gen)[:N]]
    noisy = (copies.float() + 8 * torch.randn(copies.shape, generator=gen)).clamp(0, 255).round().to(torch.uint8)
    one = load_shapes(DataConfig(name="shapes", num_samples=4 * N_WIDE, image_size=32, seed=2))
    cases = {
        "copies": copies, "noisy copies": noisy,
        "shifted copies": torch.roll(copies, shifts=(1, -1), dims=(2, 3)),  # one pixel down and to the left
        "held out": held.images, "noise": torch.randint(0, 256, copies.shape, generator=gen, dtype=torch.uint8),
        "one class": one.images[one.labels == 0][:N_WIDE],  # k-NN balls of fewer samples are wider
    }
    details = {name: scorer.score_details(x) for name, x in cases.items()}
    for name, (s, _) in details.items():  # shown with pytest -s
        print(f"{name:15s} precision={s[PRECISION]:.3f} recall={s[RECALL]:.3f} copies={s[COPIES]:.3f}")
    return {"train": train, "scorer": scorer, "cases": cases, "details": details,
            "share0": float((train.labels == 0).float().mean())}


def test_training_images_are_copies_that_look_real(scored: dict) -> None:
    s, report = scored["details"]["copies"]
    assert s[COPIES] >= 0.95 and s[PRECISION] >= 0.85  # precision of two real sets of 400: ~0.9, not 1 (k-NN balls)
    # Each flagged sample's nearest training image is the one it copies, at distance ~0.
    train = scored["train"].images
    assert torch.equal(train[report.nearest], scored["cases"]["copies"])
    assert float(report.distance.max()) < 0.01 < report.threshold  # 0 up to the rounding of |p|^2 + |r|^2 - 2 p.r


@pytest.mark.parametrize("case", ["noisy copies", "shifted copies"])
def test_copies_with_noise_or_a_one_pixel_shift_are_still_caught(scored: dict, case: str) -> None:
    assert scored["details"][case][0][COPIES] >= 0.8


def test_held_out_real_images_are_not_copies_and_score_near_one(scored: dict) -> None:
    s, _ = scored["details"]["held out"]
    assert s[COPIES] <= 0.02
    assert s[PRECISION] >= 0.85 and s[RECALL] >= 0.85  # measured 0.91-0.93 at 400 to 2,000 images
    assert s[COPY_REFERENCE] == N_TRAIN and s[COPY_THRESHOLD] == scored["scorer"].copy_check.threshold > 0


def test_noise_looks_real_to_nobody(scored: dict) -> None:
    s, _ = scored["details"]["noise"]
    assert s[PRECISION] <= 0.02 and s[RECALL] <= 0.02 and s[COPIES] == 0.0


def test_one_class_covers_at_most_its_share_of_the_variety(scored: dict) -> None:
    s, _ = scored["details"]["one class"]
    assert s[RECALL] <= scored["share0"] + 0.1  # circles are ~1/3 of the shapes
    assert s[PRECISION] >= 0.8  # what it draws looks real


def test_threshold_lets_at_most_one_percent_of_held_out_training_images_under() -> None:
    train = load_shapes(DataConfig(name="shapes", num_samples=300, image_size=32, seed=0))
    check = QualityScorer(train, cache_dir=None, coverage=False).copy_check
    dist, _ = check._copy_distance(train.images, check.feats, exclude=torch.arange(300))  # each left out
    assert float((dist < check.threshold).float().mean()) <= FALSE_COPY_RATE


def test_copy_pairs_put_each_likely_copy_beside_its_original(scored: dict) -> None:
    _, report = scored["details"]["shifted copies"]
    samples = scored["cases"]["shifted copies"]
    pairs = copy_pairs(report, samples, scored["train"].images, limit=4)
    assert pairs is not None and pairs.shape == (8, 3, 32, 32) and pairs.dtype == torch.uint8
    first = report.flagged[0]
    assert torch.equal(pairs[0], samples[first])
    assert torch.equal(pairs[1], scored["train"].images[report.nearest[first]])
    assert copy_pairs(scored["details"]["noise"][1], scored["cases"]["noise"], scored["train"].images) is None


def test_nearest_training_images_in_features_and_pixels(scored: dict) -> None:
    check, train = scored["scorer"].copy_check, scored["train"].images
    sample = torch.roll(train[7:8], shifts=1, dims=3)  # image 7, moved right by a pixel
    by_pixels = check.nearest_pixels(sample, k=3)
    assert by_pixels.index.shape == (1, 3) and int(by_pixels.index[0, 0]) == 7
    assert by_pixels.distance[0].tolist() == sorted(by_pixels.distance[0].tolist())
    by_features = check.nearest_features(scored["scorer"].features(train[7:8]), k=3)
    assert int(by_features.index[0, 0]) == 7 and float(by_features.distance[0, 0]) == pytest.approx(0, abs=1e-3)


def test_pixels_move_the_picture_without_wrapping() -> None:
    x = torch.zeros(1, 1, 32, 32, dtype=torch.uint8)
    x[..., :, -2:] = 255  # a bright band at the right edge
    moved = pixels(x, [(0, 1)])[:, :, 0].view(3, 16, 16)  # one pixel right: half the band leaves the picture
    assert float(moved[:, :, -1].min()) == 0.5 and float(moved[:, :, 0].max()) == 0.0  # nothing wraps to the left
