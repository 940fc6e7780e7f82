"""The quality bench's held-out judges and candidates: fixed MNIST halves, scores that tell real from collapse."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from formats import make_split

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import judges  # noqa: E402
import quality  # noqa: E402

from gan_core.data import ImageData  # noqa: E402
from gan_core.data.shapes import render_shapes  # noqa: E402
from gan_core.errors import ConfigError  # noqa: E402


def test_mnist_halves_are_fixed_disjoint_and_keep_their_labels(tmp_path: Path) -> None:
    images, labels = make_split(tmp_path, "test", 40, gz=True)
    gan, judge = judges.mnist_halves(tmp_path)
    again, _ = judges.mnist_halves(tmp_path)
    assert len(gan) == len(judge) == 20 and torch.equal(gan.images, again.images)
    rows = {bytes(img.numpy().tobytes()) for img in torch.cat([gan.images, judge.images])}
    assert len(rows) == 40  # every image once: no image in both halves
    for half in (gan, judge):  # each image keeps its own label
        for img, label in zip(half.images, half.labels):
            index = next(i for i in range(40) if (images[i] == img[0].numpy()).all())
            assert labels[index] == label


@pytest.fixture(scope="module")
def shapes_judge(tmp_path_factory: pytest.TempPathFactory) -> tuple[judges.Judge, ImageData, Path]:
    cache = tmp_path_factory.mktemp("judges")
    real = judges.shapes_real(n=1200, size=16)
    return judges.build_judge(real, cache, max_steps=150), real, cache


def test_a_judge_recognises_real_shapes_and_sees_through_one_repeated_image(shapes_judge) -> None:
    judge, real, _ = shapes_judge
    assert judge.accuracy > 0.8 and judge.class_names == ["triangle", "square", "circle"]
    held_out = torch.from_numpy(render_shapes(600, 16, "mixed", seed=1)[0])  # a run's seed, not the judge's
    real_score = judge.score(held_out)
    assert real_score["recognisable"] > 0.6 and min(real_score["shares"]) > 0.2
    assert sum(real_score["shares"]) == pytest.approx(1.0)
    collapsed = judge.score(held_out[:1].repeat(600, 1, 1, 1))  # one image, however recognisable
    assert max(collapsed["shares"]) == 1.0
    assert collapsed["fd"] > 5 * real_score["fd"] and real_score["fd"] < 5 * judge.floor


def test_a_judge_is_cached_and_loads_with_the_same_scores(shapes_judge) -> None:
    judge, real, cache = shapes_judge
    assert len(list(cache.glob(f"{judges.JUDGE_VERSION}-*.pt"))) == 1
    loaded = judges.build_judge(real, cache, max_steps=150)
    images = real.images[:200]
    assert loaded.score(images) == judge.score(images) and loaded.floor == judge.floor


def test_candidates_are_presets_with_overrides_whose_values_may_hold_commas() -> None:
    name, cfg = quality.parse_candidate("tc=shapes-default:train.augment=translation,cutout,train.class_weight=0.5")
    assert name == "tc" and cfg.train.augment == "translation,cutout" and cfg.train.class_weight == 0.5
    assert quality.parse_candidate("mnist-default")[0] == "mnist-default"
    with pytest.raises(ConfigError, match="section.key=value"):
        quality.parse_candidate("x=shapes-default:augment=translation")
    with pytest.raises(ConfigError, match="No held-out judge"):
        quality.bench_data(quality.parse_candidate("cifar10-default")[1], "unused")
