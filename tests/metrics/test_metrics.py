"""Tests for gan_core.metrics: the quality score separates real from degraded data, coverage, diversity, caching."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gan_core.data.base import ImageData, conform
from gan_core.data.shapes import render_shapes
from gan_core.metrics import FeatureNet, QualityScorer, diversity, frechet_distance, kid
from gan_core.metrics import coverage as coverage_mod
from gan_core.metrics import quality as quality_mod
from gan_core.metrics.quality import psd_sqrt

MNIST_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"
BLURS = (0.5, 1.0, 2.0, 3.0)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Two CPU cores shared with other jobs: one intra-op thread avoids OpenMP spin contention (much faster here)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --- helpers -------------------------------------------------------------------------------------


def _read_idx(path: Path) -> np.ndarray:
    """A gzipped IDX file (MNIST format) as a numpy array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _mnist() -> tuple[torch.Tensor, torch.Tensor]:
    """The MNIST test set: uint8 10000 x 1 x 28 x 28 and int64 labels; skips when the files are absent."""
    images, labels = MNIST_DIR / "t10k-images-idx3-ubyte.gz", MNIST_DIR / "t10k-labels-idx1-ubyte.gz"
    if not (images.is_file() and labels.is_file()):
        pytest.skip(f"MNIST test set not found in {MNIST_DIR}")
    x = torch.from_numpy(_read_idx(images).copy()).unsqueeze(1)
    y = torch.from_numpy(_read_idx(labels).astype(np.int64))
    return x, y


def _shapes(n: int, size: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = render_shapes(n, size, "mixed", seed)
    return torch.from_numpy(images), torch.from_numpy(labels)


def _blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of uint8 N x C x H x W (reflect padding), uint8 out."""
    r = max(1, math.ceil(3 * sigma))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    c = images.shape[1]
    x = F.pad(images.float(), (r, r, 0, 0), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    x = F.pad(x, (0, 0, r, r), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)
    return x.round().clamp(0, 255).to(torch.uint8)


def _variants(pool: torch.Tensor, pool_labels: torch.Tensor, n: int) -> dict[str, torch.Tensor]:
    """Fake sets drawn from images disjoint from the real set: n each, except one_class (+ its same-size halves)."""
    gen = torch.Generator().manual_seed(0)
    halves = pool[:n]
    out = {"halves": halves}
    for s in BLURS:
        out[f"blur{s:g}"] = _blur(halves, s)
    out["noise"] = torch.randint(0, 256, halves.shape, generator=gen, dtype=torch.uint8)
    one = pool[pool_labels == 0][:n]
    out["one_class"] = one
    out["halves_same_n"] = pool[: len(one)]  # FD is biased upwards at small N: compare at equal N
    jitter = torch.randint(-2, 3, halves.shape, generator=gen)  # one image repeated, +-2 grey levels
    out["repeated"] = (halves[:1].long() + jitter).clamp(0, 255).to(torch.uint8)
    return out


def _table(real: ImageData, pool: torch.Tensor, pool_labels: torch.Tensor, n: int) -> dict:
    scorer = QualityScorer(real, cache_dir=None, num_real=2000, memorization=False)  # copies: test_memorization
    fakes = _variants(pool, pool_labels, n)
    scores = {name: scorer.score(x) for name, x in fakes.items()}
    div = {name: diversity(x) for name, x in fakes.items()}
    div["real"] = diversity(real.images)
    print(f"\n{real.name}: classifier accuracy {scorer.classifier_accuracy:.3f}")
    for name, s in scores.items():  # shown with pytest -s: the score table of the report
        print(f"{real.name:7s} {name:14s} n={len(fakes[name]):5d} quality={s['quality']:9.4f} kid={s['kid']:12.4f} "
              f"classes={s['coverage/classes']:.0f} kl={s['coverage/kl']:.3f} conf={s['coverage/confidence']:.3f} "
              f"diversity={div[name]:.3f}")
    return {"scorer": scorer, "scores": scores, "div": div, "num_classes": real.num_classes,
            "pool": pool, "pool_labels": pool_labels}


@pytest.fixture(scope="module", params=["shapes", "mnist"])
def table(request: pytest.FixtureRequest) -> dict:
    """Scores of degraded copies against a real set, for the synthetic shapes and for real MNIST digits."""
    if request.param == "shapes":
        images, labels = _shapes(5000)
        n_real = 2000
    else:
        images, labels = _mnist()
        # Shuffle (seeded): the test set's first and second 5,000 come from different writers,
        # a real distribution shift the score does notice (halves ~0.07 instead of ~0.02).
        perm = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
        images, labels = images[perm], labels[perm]
        n_real = 5000  # the scorer keeps a 2,000-image subset for the statistics; the classifier sees all 5,000
    real = ImageData(images[:n_real], labels[:n_real], name=request.param)
    return _table(real, images[n_real:], labels[n_real:], 1000)


# --- separation of real from degraded data -------------------------------------------------------------


def test_halves_score_far_below_degraded_sets(table: dict) -> None:
    q = {k: v["quality"] for k, v in table["scores"].items()}
    for name in ("blur1", "blur2", "blur3", "noise", "repeated"):
        assert q[name] > 10 * q["halves"], (name, q)
    assert q["noise"] > 100 * q["halves"], q
    assert q["blur0.5"] > 2.5 * q["halves"], q
    assert q["one_class"] > 4 * q["halves_same_n"], q


def test_quality_rises_monotonically_with_blur(table: dict) -> None:
    q = [table["scores"][k]["quality"] for k in ["halves"] + [f"blur{s:g}" for s in BLURS]]
    assert all(a < b for a, b in zip(q, q[1:])), q
    assert q[-1] > 1.3 * q[-2], q  # still climbing clearly at sigma 3, not saturated


def test_kid_near_zero_for_real_and_large_for_degraded(table: dict) -> None:
    k = {name: v["kid"] for name, v in table["scores"].items()}
    assert abs(k["halves"]) < 0.02 < k["blur0.5"], k
    kb = [k[f"blur{s:g}"] for s in BLURS]
    assert all(a < b for a, b in zip(kb, kb[1:])), kb
    assert k["noise"] > k["blur3"] and k["repeated"] > 1.0, k
    assert k["one_class"] > 5 * abs(k["halves_same_n"]) + 0.02, k


def test_coverage_real_covers_all_classes_one_class_covers_one(table: dict) -> None:
    s, num_classes = table["scores"], table["num_classes"]
    assert s["halves"]["coverage/classes"] == num_classes, s["halves"]
    assert s["halves"]["coverage/kl"] < 0.05, s["halves"]
    assert s["halves"]["coverage/confidence"] > 0.9, s["halves"]
    for name in ("one_class", "repeated"):
        assert s[name]["coverage/classes"] == 1, (name, s[name])
        assert s[name]["coverage/kl"] > 0.7 * math.log(num_classes), (name, s[name])


def test_classifier_is_accurate_on_unseen_real_images(table: dict) -> None:
    scorer = table["scorer"]
    assert scorer.classifier_accuracy is not None and scorer.classifier_accuracy > 0.95
    from gan_core.metrics.coverage import predict_proba

    pred = predict_proba(scorer.classifier, table["pool"][:2000]).argmax(1)
    accuracy = float((pred == table["pool_labels"][:2000]).float().mean())
    assert accuracy > 0.95, accuracy


def test_diversity_real_near_one_repeated_near_zero(table: dict) -> None:
    d = table["div"]
    assert 0.7 < d["real"] < 1.4 and 0.7 < d["halves"] < 1.4, d
    assert d["repeated"] < 0.1, d
    assert d["repeated"] < 0.25 * d["real"], d  # HealthMonitor's collapse threshold fires on it


# --- building blocks -----------------------------------------------------------------------------


def test_frechet_distance_matches_closed_forms() -> None:
    gen = torch.Generator().manual_seed(0)
    # Diagonal covariances commute: FD = |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2.
    a, b = torch.rand(6, generator=gen, dtype=torch.float64) + 0.1, torch.rand(6, generator=gen, dtype=torch.float64)
    mu1, mu2 = torch.randn(6, generator=gen, dtype=torch.float64), torch.randn(6, generator=gen, dtype=torch.float64)
    expected = float((mu1 - mu2).pow(2).sum() + (a.sqrt() - b.sqrt()).pow(2).sum())
    got = frechet_distance(mu1, psd_sqrt(torch.diag(a)), float(a.sum()), mu2, torch.diag(b))
    assert got == pytest.approx(expected, rel=1e-9)
    # General covariances: compare with scipy's matrix square root.
    scipy_linalg = pytest.importorskip("scipy.linalg")
    m1, m2 = (
        torch.randn(8, 8, generator=gen, dtype=torch.float64),
        torch.randn(8, 8, generator=gen, dtype=torch.float64),
    )
    c1, c2 = m1 @ m1.T, m2 @ m2.T
    ref = float(c1.trace() + c2.trace()) - 2 * float(np.real(np.trace(scipy_linalg.sqrtm(c1.numpy() @ c2.numpy()))))
    got = frechet_distance(torch.zeros(8, dtype=torch.float64), psd_sqrt(c1), float(c1.trace()),
                           torch.zeros(8, dtype=torch.float64), c2)
    assert got == pytest.approx(ref, rel=1e-6)
    assert frechet_distance(mu1, psd_sqrt(torch.diag(a)), float(a.sum()), mu1, torch.diag(a)) == pytest.approx(
        0, abs=1e-9
    )


def test_kid_is_unbiased_for_equal_distributions() -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(400, 16, generator=gen, dtype=torch.float64)
    y = torch.randn(400, 16, generator=gen, dtype=torch.float64)
    assert abs(kid(x, y)) < 0.05
    assert kid(x + 0.5, y) > 10 * abs(kid(x, y)) + 0.05


def test_feature_net_is_deterministic_and_takes_any_supported_shape() -> None:
    a, b = FeatureNet(), FeatureNet()
    for (name, wa), (_, wb) in zip(a.named_buffers(), b.named_buffers()):
        assert torch.equal(wa, wb), name
    gen = torch.Generator().manual_seed(2)
    for c, size in [(1, 28), (3, 28), (3, 32), (1, 64), (3, 64)]:
        x = torch.randint(0, 256, (5, c, size, size), generator=gen, dtype=torch.uint8)
        f = a.embed(x)
        assert f.shape == (5, a.dim) and torch.isfinite(f).all(), (c, size)
    grey = torch.randint(0, 256, (4, 1, 28, 28), generator=gen, dtype=torch.uint8)
    assert torch.allclose(a.embed(grey), a.embed(grey.expand(-1, 3, -1, -1).contiguous()))


def _small_set(n: int = 300, seed: int = 0) -> ImageData:
    images, labels = _shapes(n, 28, seed)
    return ImageData(images, labels, ["triangle", "square", "circle"], "shapes")


def test_scorer_caches_real_statistics_and_classifier(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path = tmp_path / "cache"  # its own folder: the test lists every file in it (conftest puts data/ beside)
    real, fake = _small_set(300), _small_set(100, seed=1).images
    monkeypatch.setattr(coverage_mod, "_MIN_STEPS", 10)  # accuracy is not the point here: keep it fast
    first = QualityScorer(real, cache_dir=tmp_path, num_real=200)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert [f.split("-")[0] for f in files] == ["classifier", "copies", "real"], files
    for p in tmp_path.iterdir():  # plain tensors and numbers: loadable without unpickling code
        assert isinstance(torch.load(p, weights_only=True), dict)

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("recomputed despite a valid cache")

    monkeypatch.setattr(QualityScorer, "_compute_stats", boom)
    monkeypatch.setattr(quality_mod, "train_classifier", boom)
    monkeypatch.setattr(quality_mod.CopyCheck, "calibrate", boom)
    second = QualityScorer(real, cache_dir=tmp_path, num_real=200)
    assert second.score(fake) == first.score(fake)
    monkeypatch.undo()  # restores _MIN_STEPS too; the key of `other` is new, coverage off

    other = ImageData(real.images.flip(-1).contiguous(), real.labels, name="shapes")  # different bytes, new key
    QualityScorer(other, cache_dir=tmp_path, num_real=200, coverage=False)
    assert len(list(tmp_path.glob("real-stats-*.pt"))) == 2


def test_classifier_weights_are_channels_last() -> None:
    # CPU max pooling is several times faster on channels-last activations, which these weights make (1.5x faster
    # classifier training on a 2-core Xeon); trained and cached classifiers start from this shell.
    model = coverage_mod.new_classifier(3, 10)
    convs = [m.weight for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    x = coverage_mod.prepare(_small_set(4).images, 3)
    assert model.body[:3](x).is_contiguous(memory_format=torch.channels_last)  # what the first max pooling gets


def test_the_classifier_bar_moves_and_the_next_step_gets_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # The classifier trains for a minute or more on a slow CPU: its bar must move, and end complete, or the next
    # step's first report (loading the stacked-MNIST reader's digits at 50 %) carried on in its bar and clock.
    import io
    import re

    from gan_core.cli.progress import TaskProgress

    monkeypatch.setattr(coverage_mod, "_MIN_STEPS", 100)
    seen: list[float] = []
    log = io.StringIO()
    with TaskProgress(log) as report:
        def progress(fraction: float, message: str) -> None:
            if "classifier" in message:
                seen.append(fraction)
            report(fraction, message)

        QualityScorer(_small_set(200), cache_dir=None, num_real=100, memorization=False, progress=progress)
        report(0.5, "Reading t10k-images-idx3-ubyte.gz")
    assert seen[0] == 0.0 and seen[-1] == 1.0 and 20 <= len(seen) <= 52
    assert all(a < b for a, b in zip(seen, seen[1:])), seen
    shown = [re.match(r"(.*?) +(\d+)%", line).groups() for line in log.getvalue().splitlines()]
    reading = "Reading t10k-images-idx3-ubyte.gz"
    assert shown[-3:] == [("Training the coverage classifier on 200 labeled images", "100"), (reading, "0"),
                          (reading, "100")], shown


def test_the_cache_is_keyed_by_content_images_and_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coverage_mod, "_MIN_STEPS", 10)
    real, fake = _small_set(200), _small_set(50, seed=1).images
    before = QualityScorer(real, cache_dir=tmp_path, num_real=200).score(fake)
    changed = real.images.clone()
    changed[0, 0, 0, 0] ^= 0xFF  # one pixel of one image: another data set as far as any cache knows
    after = QualityScorer(ImageData(changed, real.labels, name="shapes"), cache_dir=tmp_path, num_real=200)
    assert len(list(tmp_path.glob("real-stats-*.pt"))) == 2 and len(list(tmp_path.glob("classifier-*.pt"))) == 2
    assert after.score(fake)["quality"] != before["quality"]  # statistics of the changed images, not the cached
    relabelled = ImageData(real.images, real.labels.roll(1), name="shapes")  # same images, other labels
    QualityScorer(relabelled, cache_dir=tmp_path, num_real=200)
    assert len(list(tmp_path.glob("classifier-*.pt"))) == 3  # labels are part of the key too


def test_the_classifier_starts_from_its_seed_without_touching_the_global_random_stream() -> None:
    state = torch.get_rng_state()
    model = coverage_mod.new_classifier(3, 3)  # built in the scorer's worker while training draws from that stream
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(coverage_mod._SEED)
    default = coverage_mod.Classifier(3, 3)  # PyTorch's own init after the seed: the weights of earlier versions
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), default.state_dict().values()))


def test_corrupt_cache_is_recomputed(tmp_path: Path) -> None:
    real, fake = _small_set(200), _small_set(50, seed=1).images
    QualityScorer(real, cache_dir=tmp_path, coverage=False)
    (path,) = tmp_path.glob("real-stats-*.pt")
    path.write_bytes(b"not a checkpoint")
    scorer = QualityScorer(real, cache_dir=tmp_path, coverage=False)
    assert math.isfinite(scorer.score(fake)["quality"])
    assert torch.load(path, weights_only=True)["version"]  # rewritten


UNLABELED_KEYS = {"quality", "kid", "precision", "recall", "copies", "copy_threshold", "copy_reference"}


def test_scores_are_deterministic_and_shape_checked() -> None:
    real = _small_set(200)
    fake = _small_set(60, seed=3).images
    a = QualityScorer(real, coverage=False).score(fake)
    b = QualityScorer(real, coverage=False).score(fake)
    assert a == b and set(a) == UNLABELED_KEYS
    with pytest.raises(AssertionError):
        QualityScorer(real, coverage=False).score(conform(fake, 32, None))


def test_grey_64px_set_is_supported() -> None:
    images = conform(_small_set(200).images, 64, 1)  # 200 x 1 x 64 x 64
    real = ImageData(images[:150])  # unlabeled: no coverage keys
    s = QualityScorer(real).score(images[150:])
    assert set(s) == UNLABELED_KEYS and all(math.isfinite(v) for v in s.values())
    assert s["quality"] < QualityScorer(real).score(_blur(images[150:], 2.0))["quality"]


def test_a_grey_set_stored_as_rgb_is_scored_on_its_grey_so_tinted_samples_keep_their_classes() -> None:
    """Issue #20, item 2: MNIST loaded as 32 x 32 RGB scored slightly coloured samples of all ten digits as "1/10
    digits drawn": a classifier trained on channels that are always equal read any tint as one class."""
    grey = conform(_small_set(600).images, 28, 1)  # 600 x 1 x 28 x 28
    rgb = grey.expand(-1, 3, -1, -1).contiguous()  # the same images as RGB (R = G = B), as "RGB (3)" loads them
    labels = _small_set(600).labels
    real = ImageData(rgb[:450], labels[:450], ["triangle", "square", "circle"], "shapes")
    scorer = QualityScorer(real, num_real=200)
    tint = torch.tensor([1.0, 0.8, 0.6]).view(1, 3, 1, 1)  # a generator's colour cast: 3 x 1 x 1 per channel
    tinted = (rgb[450:].float() * tint + torch.tensor([0.0, 20.0, 40.0]).view(1, 3, 1, 1)).clamp(0, 255)
    plain, cast = scorer.score(rgb[450:]), scorer.score(tinted.to(torch.uint8))
    assert plain["coverage/classes"] == cast["coverage/classes"] == 3, (plain, cast)
    assert cast["coverage/recognisable"] > plain["coverage/recognisable"] - 0.2, (plain, cast)  # dimmer, still read
