"""Quality score: Fréchet distance and KID to the real set in a fixed random-feature space, real statistics cached."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import torch

from ..data.base import ImageData, Progress
from ..data.stacked import STACKED_MODES, distinct_digits, is_stacked
from ..errors import DataError
from ..fileio import save_atomic
from ..metric_names import COPIES, COPY_REFERENCE, COPY_THRESHOLD, KID, PRECISION, QUALITY, RECALL
from .coverage import (
    CLASSIFIER_VERSION,
    ChannelProduct,
    Classifier,
    coverage_stats,
    new_classifier,
    predict_proba,
    train_classifier,
)
from .features import FEATURE_VERSION, feature_net
from .fidelity import kth_neighbour_distance, precision_recall
from .memorization import COPY_VERSION, CopyCheck, CopyReport, reference_indices

_SUBSET_SEED = 0
_MIN_STD_FRACTION = 0.05  # a feature's std is floored at 5% of its block's mean std: dead features are not blown up


def frechet_distance(mu1: torch.Tensor, sqrt_cov1: torch.Tensor, trace_cov1: float,
                     mu2: torch.Tensor, cov2: torch.Tensor) -> float:
    """||mu1 - mu2||^2 + tr C1 + tr C2 - 2 tr sqrt(C1 C2), with sqrt(C1) given (D, D x D, float64).

    tr sqrt(C1 C2) = sum of sqrt(eigenvalues of sqrt(C1) C2 sqrt(C1)), a symmetric PSD matrix, so a
    stable eigvalsh replaces scipy's general sqrtm (no complex parts to discard).
    """
    m = sqrt_cov1 @ cov2 @ sqrt_cov1
    m = (m + m.T) * 0.5  # symmetrise away rounding
    tr_sqrt = torch.linalg.eigvalsh(m).clamp(min=0).sqrt().sum()
    fd = (mu1 - mu2).pow(2).sum() + trace_cov1 + cov2.trace() - 2.0 * tr_sqrt
    return max(float(fd), 0.0)


def psd_sqrt(cov: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a PSD matrix (D x D float64)."""
    evals, evecs = torch.linalg.eigh(cov)
    return (evecs * evals.clamp(min=0).sqrt()) @ evecs.T


def _poly_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """KID's cubic kernel (x.y / d + 1)^3 on features of per-dimension variance ~1 (N x d, M x d -> N x M)."""
    return (x @ y.T / x.shape[1] + 1.0).pow(3)


def _mean_off_diagonal(k: torch.Tensor) -> float:
    n = k.shape[0]
    return float((k.sum() - k.diagonal().sum()) / max(n * (n - 1), 1))


def kid(fake: torch.Tensor, real: torch.Tensor, real_term: float | None = None) -> float:
    """Unbiased MMD^2 with the cubic kernel (Bińkowski et al. 2018) between N x d and M x d features.

    real_term: the cached mean off-diagonal real-real kernel value (it never changes for a set).
    """
    if fake.shape[0] < 2:
        return float("nan")
    k_rr = _mean_off_diagonal(_poly_kernel(real, real)) if real_term is None else real_term
    k_ff = _mean_off_diagonal(_poly_kernel(fake, fake))
    k_fr = float(_poly_kernel(fake, real).mean())
    return k_ff + k_rr - 2.0 * k_fr


def data_key(real: ImageData, *parts: object) -> str:
    """Hash of the real images' bytes (plus labels and the given version parts): names cache files."""
    h = hashlib.blake2b(digest_size=12)
    h.update(repr((tuple(real.images.shape), *parts)).encode())
    h.update(real.images.detach().cpu().contiguous().numpy().tobytes())
    if real.labels is not None:
        h.update(real.labels.cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def is_grey(images: torch.Tensor) -> bool:
    """Whether uint8 N x C x H x W images carry no colour (one channel, or three equal ones)."""
    return images.shape[1] == 1 or bool((images[:, 1:] == images[:, :1]).all())


def load_cache(path: Path) -> dict | None:
    """A cache file's dict, or None when absent or unreadable (a corrupt cache is just recomputed)."""
    if not path.is_file():
        return None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any unreadable cache means "recompute"
        return None
    return obj if isinstance(obj, dict) else None


class QualityScorer:
    """Fréchet distance + KID between generated and real images in a fixed network's feature space.

    Features: the seeded random network of `features.FeatureNet` (no download; the same for every
    set), standardised per dimension with the real set's mean and std and weighted so each layer
    counts equally and the real features' total variance is 1. Hence "quality" (the Fréchet
    distance, lower is better) reads as "mismatch in units of the real set's own spread": two
    halves of a real set score ~0.01-0.02 with 1,000 samples (that floor is estimator bias and
    shrinks with more samples), a blurred copy ~0.1 (sigma 0.5 px) to ~7 (sigma 3), uniform noise
    ~20-100, one image repeated ~2. Compare scores only
    at the same sample count. "kid" is the raw unbiased KID (cubic kernel, not multiplied by 1000):
    ~0 (+-0.01) for real data, where it may dip below 0 by chance, and free of the sample-count bias
    of the Fréchet distance; it grows steeply (kernel of degree 3) for very different sets: ~0.3
    for a slight blur, ~3-7 for sigma 1, 1e4 and more for noise.

    For labeled sets a small classifier is trained on the real images (once; cached) and score()
    adds coverage/classes, coverage/kl and coverage/confidence (see coverage.coverage_stats).
    With `memorization`, score() adds precision and recall (fidelity.precision_recall, k = 3, against as many
    real images as samples) and the copy rate with its threshold (memorization.CopyCheck; its reference
    features are cached like the statistics).
    """

    def __init__(self, real: ImageData, cache_dir: str | Path | None = None, num_real: int = 2000,
                 device: str | torch.device = "cpu", coverage: bool = True,
                 progress: Progress | None = None, memorization: bool = True) -> None:
        if len(real) < 2:
            raise DataError("The quality score needs at least 2 real images; load a larger data set.")
        self.shape = real.shape
        self.device = torch.device(device)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.net = feature_net(self.device)
        self.stacked = is_stacked(real)  # stacked MNIST: every triple a class, also those a small set happens to lack
        self.num_classes = STACKED_MODES if self.stacked else real.num_classes if real.labels is not None else 0
        self.classifier: Classifier | ChannelProduct | None = None
        self.classifier_accuracy: float | None = None  # held-out accuracy on real images (stacked sets: on digits)
        self._load_or_compute_stats(real, num_real, progress)
        self.copy_check: CopyCheck | None = None
        self._real_radii: dict[int, torch.Tensor] = {}  # precision's real k-NN radii per sample count
        if memorization and len(real) > 3:
            self._load_or_build_copy_check(real, progress)
        if coverage and real.labels is not None and self.num_classes >= 2 and len(real) >= 10:
            self._load_or_train_classifier(real, progress)

    # --- real statistics -------------------------------------------------------------------------

    def _load_or_compute_stats(self, real: ImageData, num_real: int, progress: Progress | None) -> None:
        n = min(max(num_real, 2), len(real))
        key = data_key(real, FEATURE_VERSION, n)
        path = None if self.cache_dir is None else self.cache_dir / f"real-stats-{key}.pt"
        stats = load_cache(path) if path is not None else None
        if stats is None or stats.get("version") != FEATURE_VERSION:
            if progress is not None:
                progress(0.0, f"Computing real feature statistics on {n} images")
            stats = self._compute_stats(real, n)
            if path is not None:
                save_atomic(stats, path)
        self.num_real = n
        self._center, self._scale = stats["center"], stats["scale"]  # dim, dim (float64)
        self._mu, self._sqrt_cov = stats["mu"], stats["sqrt_cov"]  # dim, dim x dim (float64)
        self._trace_cov = float(stats["trace_cov"])
        self._real_feats = stats["real_feats"].double()  # n x dim (standardised, per-dimension variance ~1)
        self._kid_real_term = float(stats["kid_real_term"])

    def _compute_stats(self, real: ImageData, n: int) -> dict:
        images = real.images
        if len(real) > n:  # fixed seeded subset, so the cache and the score are reproducible
            idx = torch.randperm(len(real), generator=torch.Generator().manual_seed(_SUBSET_SEED))[:n]
            images = images[idx.sort().values]
        f = self.net.embed(images).double()  # n x dim raw features
        center = f.mean(0)
        scale = torch.empty_like(center)
        blocks = self.net.block_sizes
        start = 0
        for size in blocks:  # weight blocks equally and make the total standardised variance 1
            std = f[:, start:start + size].std(0)
            std = std.clamp(min=max(_MIN_STD_FRACTION * float(std.mean()), 1e-12))
            scale[start:start + size] = 1.0 / (std * math.sqrt(size * len(blocks)))
            start += size
        z = (f - center) * scale  # n x dim, total variance ~1
        cov = torch.cov(z.T)  # dim x dim
        z_kid = z * math.sqrt(z.shape[1])  # per-dimension variance ~1, as KID's kernel expects
        return {
            "version": FEATURE_VERSION,
            "center": center, "scale": scale,
            "mu": z.mean(0), "sqrt_cov": psd_sqrt(cov), "trace_cov": cov.trace(),
            "real_feats": z_kid.float(),  # float32 halves the cache file; KID sums in float64
            "kid_real_term": torch.tensor(_mean_off_diagonal(_poly_kernel(z_kid, z_kid))),
        }

    # --- memorization check ------------------------------------------------------------------------------

    def _load_or_build_copy_check(self, real: ImageData, progress: Progress | None) -> None:
        index = reference_indices(len(real))
        key = data_key(real, COPY_VERSION, FEATURE_VERSION, self.num_real)  # num_real: the features' scaling
        path = None if self.cache_dir is None else self.cache_dir / f"copies-{key}.pt"
        saved = load_cache(path) if path is not None else None
        if saved is not None and saved.get("version") == COPY_VERSION and len(saved["feats"]) == len(index):
            self.copy_check = CopyCheck(real.images, index, saved["feats"], float(saved["threshold"]))
            return
        message = f"Computing features of {len(index):,} training images for the copy check"
        chunks = []
        for start in range(0, len(index), 1000):  # a report per chunk (about a second each on one CPU thread)
            if progress is not None:
                progress(start / len(index), message)
            chunks.append(self.features(real.images[index[start:start + 1000]]).float())
        feats = torch.cat(chunks)  # M x dim
        self.copy_check = CopyCheck(real.images, index, feats)
        if path is not None:
            save_atomic({"version": COPY_VERSION, "feats": feats, "threshold": torch.tensor(self.copy_check.threshold)},
                        path)

    # --- coverage classifier -------------------------------------------------------------------

    def _load_or_train_classifier(self, real: ImageData, progress: Progress | None) -> None:
        assert real.labels is not None
        # Stacked MNIST: a digit classifier read on each channel, trained on the set's distinct digits (a joint one
        # learns 1,000 triples from a few thousand images badly: 65 % held out, 1 % of real images "recognisable").
        if self.stacked:
            part = distinct_digits(real)
            images, labels, channels = part.images, part.labels, 1
            classes, what = 10, f"{len(part):,} distinct digits of the stacked set"
        else:
            # A grey set loaded as RGB (R = G = B, e.g. MNIST at "RGB (3)") is classified on its grey: a classifier
            # that only ever saw equal channels reads a generator's slight colour cast as one class (issue #20).
            channels = 1 if is_grey(real.images) else real.shape[0]
            images, labels, classes = real.images[:, :channels], real.labels, self.num_classes
            what = f"{len(real)} labeled images"
        assert labels is not None
        key = data_key(real, CLASSIFIER_VERSION, self.num_classes, channels, *(["per-channel"] if self.stacked else []))
        path = None if self.cache_dir is None else self.cache_dir / f"classifier-{key}.pt"
        saved = load_cache(path) if path is not None else None
        model = new_classifier(channels, classes)  # a shell for the cached weights; no RNG draws
        if saved is not None and saved.get("version") == CLASSIFIER_VERSION:
            try:
                model.load_state_dict(saved["state"])
            except (RuntimeError, KeyError):
                saved = None  # a stale or foreign file: retrain below
        else:
            saved = None
        if saved is None:
            model, acc = train_classifier(images, labels, classes, self.device, progress=progress,
                                          message=f"Training the coverage classifier on {what}")
            hist = torch.bincount(real.labels.cpu(), minlength=self.num_classes).double()
            saved = {"version": CLASSIFIER_VERSION, "accuracy": torch.tensor(acc),
                     "real_hist": hist / hist.sum(),
                     "state": {k: v.detach().cpu() for k, v in model.state_dict().items()}}
            if path is not None:
                save_atomic(saved, path)
        model = model.to(self.device).eval()
        self.classifier = ChannelProduct(model, 3) if self.stacked else model
        self.classifier_accuracy = float(saved["accuracy"])
        self._real_hist = saved["real_hist"]  # K, real class proportions

    # --- scoring -----------------------------------------------------------------------------

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Standardised features: uint8 N x C x H x W -> float64 N x dim (real set: mean 0, total variance 1)."""
        return (self.net.embed(images).double() - self._center) * self._scale

    @torch.no_grad()
    def score(self, fake: torch.Tensor) -> dict[str, float]:
        """Score generated images: uint8 N x C x H x W, same C, H, W as the real set (N >= 2; 1,000 is typical).

        Returns {"quality": Fréchet distance (lower is better), "kid": raw KID (not x 1000)}, plus for labeled
        sets {"coverage/classes", "coverage/kl", "coverage/confidence"}, and with the memorization check
        {"precision", "recall", "copies", "copy_threshold", "copy_reference"}.
        """
        return self.score_details(fake)[0]

    @torch.no_grad()
    def score_details(self, fake: torch.Tensor) -> tuple[dict[str, float], CopyReport | None]:
        """score()'s entry and the copy check's report (which samples look like copies of which training image)."""
        assert fake.dtype == torch.uint8 and fake.dim() == 4, (fake.dtype, fake.shape)
        assert tuple(fake.shape[1:]) == self.shape, f"fake images are {tuple(fake.shape[1:])}, real are {self.shape}"
        if fake.shape[0] < 2:
            raise ValueError("score() needs at least 2 generated images.")
        z = self.features(fake)  # N x dim float64
        cov = torch.cov(z.T)
        out = {QUALITY: frechet_distance(self._mu, self._sqrt_cov, self._trace_cov, z.mean(0), cov)}
        out[KID] = kid(z * math.sqrt(z.shape[1]), self._real_feats, self._kid_real_term)
        if self.classifier is not None:
            out.update(coverage_stats(predict_proba(self.classifier, fake, self.device), self._real_hist))
        report = None
        if self.copy_check is not None:
            n = min(len(z), len(self._real_feats))  # equal sizes: k-NN balls shrink as a set grows
            if n > 3:  # k = 3 needs a fourth point
                pick = torch.linspace(0, len(self._real_feats) - 1, n).round().long()  # spread over the subset
                real = self._real_feats[pick] / math.sqrt(z.shape[1])  # n x dim, back to z's scale
                if n not in self._real_radii:  # the real balls depend on n only: once per sample count
                    self._real_radii[n] = kth_neighbour_distance(real.float())
                out[PRECISION], out[RECALL] = precision_recall(real, z[:n], real_radii=self._real_radii[n])
            report = self.copy_check.check(fake, z)
            out[COPIES], out[COPY_THRESHOLD] = report.rate, report.threshold
            out[COPY_REFERENCE] = float(self.copy_check.index.shape[0])
        return out, report
