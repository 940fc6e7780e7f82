"""Memorization check: each sample's nearest training images, and the share of samples that look like copies."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .features import FeatureNet

COPY_VERSION = "copy-v1"  # part of the cache key: bump when the distances or the calibration change
MAX_REFERENCE = 10_000  # training images searched at most (a seeded subset of larger sets): ~1 s per 1,000 samples
PIXEL_SIZE = 16  # copies are compared at 16 x 16 RGB: pixel noise averages out, the picture stays
CANDIDATES = 8  # nearest images by features and by pixels that the shift-tolerant distance then compares
CALIBRATION = 1000  # held-out real images the threshold is calibrated on
FALSE_COPY_RATE = 0.01  # at most this share of held-out real images falls under the threshold
SMALL_SET = 10_000  # sets up to this size are searched whole, in pixel space too (Explore, the Train page's pairs)
_SHIFTS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]  # a copy moved by a pixel is still a copy
_SEED = 0
_CHUNK = 500


def pixels(images: torch.Tensor, shifts: list[tuple[int, int]] | None = None) -> torch.Tensor:
    """uint8 N x C x H x W -> float32 N x 768 in [0, 1]: 32 x 32 RGB averaged down to 16 x 16. With shifts (dy, dx
    each -1..1): N x 768 x len(shifts), the picture moved by each shift first (repeating the edge, not wrapping)."""
    x = FeatureNet.prepare(images.cpu())  # N x 3 x 32 x 32
    if shifts is None:
        return F.avg_pool2d(x, 32 // PIXEL_SIZE).flatten(1)
    step = 32 // PIXEL_SIZE
    # Every window of the padded picture averaged once (N x 3 x 33 x 33); a shift is then a strided view of it.
    pooled = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), step, stride=1)
    moved = [pooled[:, :, 1 - dy::step, 1 - dx::step][:, :, :PIXEL_SIZE, :PIXEL_SIZE] for dy, dx in shifts]
    return torch.stack(moved, dim=-1).flatten(1, 3)  # N x 768 x shifts


def reference_indices(n: int, limit: int = MAX_REFERENCE) -> torch.Tensor:
    """The training images searched: all of a set up to `limit`, else a seeded random `limit` of them (sorted)."""
    if n <= limit:
        return torch.arange(n)
    return torch.randperm(n, generator=torch.Generator().manual_seed(_SEED))[:limit].sort().values


@dataclass
class Neighbours:
    """The k nearest training images of N samples: indices into the training set and distances (both N x k)."""

    index: torch.Tensor
    distance: torch.Tensor


@dataclass
class CopyReport:
    """The copy check of N samples: which look like copies, of which training image, how far, against what bar."""

    rate: float  # share of samples under the threshold
    threshold: float  # RMS pixel distance (0..1 per channel) under which a sample counts as a copy
    distance: torch.Tensor  # N: each sample's copy distance to its nearest training image
    nearest: torch.Tensor  # N: that training image's index in the training set
    flagged: torch.Tensor  # indices of the samples under the threshold, nearest first


class CopyCheck:
    """Nearest training images of samples, in the scorer's feature space and in pixel space, and a copy rate.

    The copy distance of a sample to a training image is the RMS difference of their 16 x 16 pixels, the smallest
    over moving the sample by up to one pixel each way (a copy with noise or a one-pixel shift stays close). It is
    taken to the CANDIDATES nearest images by features and by plain pixels, found in the whole reference. The
    threshold is calibrated on held-out real images: CALIBRATION training images compared with all the others
    (leaving each one out), so at most FALSE_COPY_RATE of real images the GAN never saw would fall under it.
    """

    def __init__(self, images: torch.Tensor, index: torch.Tensor, feats: torch.Tensor,
                 threshold: float | None = None) -> None:
        """images: the training set, uint8 N x C x H x W; index: M reference indices; feats: M x d their features."""
        assert feats.shape[0] == index.shape[0], (feats.shape, index.shape)
        self.images, self.index = images, index
        self.num_train = int(images.shape[0])
        self.feats = feats.float()  # M x d
        self.pix = torch.cat([pixels(images[i]) for i in index.split(_CHUNK)])  # M x 768
        self.threshold = self.calibrate() if threshold is None else threshold

    @property
    def whole(self) -> bool:
        """Whether every training image is searched (small sets)."""
        return self.index.shape[0] == self.num_train

    def calibrate(self) -> float:
        """The copy threshold: the FALSE_COPY_RATE quantile of held-out real images' distances (strictly under)."""
        m = self.index.shape[0]
        if m < 2:
            return 0.0
        cal = torch.randperm(m, generator=torch.Generator().manual_seed(_SEED + 1))[:min(CALIBRATION, m)]
        dist, _ = self._copy_distance(self.images[self.index[cal]], self.feats[cal], exclude=cal)
        ordered = dist.sort().values
        return float(ordered[int(FALSE_COPY_RATE * len(ordered))])  # floor: at most that share lies below

    def nearest_features(self, feats: torch.Tensor, k: int = 3) -> Neighbours:
        """The k nearest training images of N samples' features (N x d), Euclidean in the scorer's space."""
        d = torch.cdist(feats.float(), self.feats)  # N x M
        return self._top(d, k)

    def nearest_pixels(self, images: torch.Tensor, k: int = 3) -> Neighbours:
        """The k nearest training images of uint8 N x C x H x W samples by copy distance (RMS of 16 x 16 pixels)."""
        shifted = pixels(images, _SHIFTS)  # N x 768 x shifts
        d = torch.stack([torch.cdist(shifted[:, :, s], self.pix) for s in range(len(_SHIFTS))]).amin(0)  # N x M
        return self._top(d / math.sqrt(self.pix.shape[1]), k)

    def check(self, images: torch.Tensor, feats: torch.Tensor) -> CopyReport:
        """The copy check of samples: uint8 N x C x H x W and their features N x d."""
        dist, ref = self._copy_distance(images, feats.float())
        under = (dist < self.threshold).nonzero().flatten()
        flagged = under[dist[under].argsort()]
        return CopyReport(float(under.numel()) / max(len(dist), 1), self.threshold, dist, self.index[ref], flagged)

    # --- internals -------------------------------------------------------------------------------------------
    def _top(self, d: torch.Tensor, k: int) -> Neighbours:
        k = min(k, d.shape[1])
        top = d.topk(k, dim=1, largest=False)
        return Neighbours(self.index[top.indices], top.values)

    def _copy_distance(self, images: torch.Tensor, feats: torch.Tensor,
                       exclude: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(distance N, reference position N) of each sample's nearest training image; exclude: N reference
        positions left out (a calibration image's own)."""
        dists, refs = [], []
        for start in range(0, images.shape[0], _CHUNK):
            sl = slice(start, start + _CHUNK)
            d_feat = torch.cdist(feats[sl], self.feats)  # n x M
            d_pix = torch.cdist(pixels(images[sl]), self.pix)  # n x M
            if exclude is not None:
                rows = torch.arange(d_feat.shape[0])
                d_feat[rows, exclude[sl]] = math.inf
                d_pix[rows, exclude[sl]] = math.inf
            k = min(CANDIDATES, self.pix.shape[0] - (exclude is not None))
            cand = torch.cat([d_feat.topk(k, dim=1, largest=False).indices,
                              d_pix.topk(k, dim=1, largest=False).indices], dim=1)  # n x 2k
            d = self._shift_min(images[sl], cand)  # n x 2k
            best = d.argmin(dim=1)
            dists.append(d.gather(1, best.unsqueeze(1)).squeeze(1))
            refs.append(cand.gather(1, best.unsqueeze(1)).squeeze(1))
        return torch.cat(dists), torch.cat(refs)

    def _shift_min(self, images: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
        """RMS 16 x 16 pixel distance of each sample (N) to its candidates (N x c reference positions), the
        smallest over the sample moved by up to one pixel: N x c."""
        out = []
        for rows, c in zip(images.split(_CHUNK), cand.split(_CHUNK)):
            ref = self.pix[c]  # n x c x 768
            p = pixels(rows, _SHIFTS)  # n x 768 x shifts
            # |p - r|^2 = |p|^2 + |r|^2 - 2 p.r, one batched product for every shift (4x faster than differences)
            d2 = ref.pow(2).sum(2, keepdim=True) + p.pow(2).sum(1, keepdim=True) - 2.0 * torch.bmm(ref, p)
            out.append(d2.amin(dim=2).clamp(min=0).div(ref.shape[2]).sqrt())  # n x c
        return torch.cat(out)


def copy_pairs(report: CopyReport, samples: torch.Tensor, images: torch.Tensor, limit: int = 8) -> torch.Tensor | None:
    """The likely copies beside their nearest training images, closest first: uint8 2m x C x H x W (sample,
    original, sample, original...; m <= limit), or None when no sample looks like a copy."""
    chosen = report.flagged[:limit]
    if chosen.numel() == 0:
        return None
    originals = images[report.nearest[chosen]].to(samples.device)  # m x C x H x W, as the samples
    return torch.stack([samples[chosen], originals], dim=1).flatten(0, 1)
