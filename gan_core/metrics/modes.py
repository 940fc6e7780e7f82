"""The 2-D mode metrics of PacGAN and VEEGAN: modes covered, high-quality share and reverse KL to uniform."""

from __future__ import annotations

import math

import torch

from ..metric_names import MODES_COVERED, MODES_HQ, MODES_RKL

HQ_STDS = 3.0  # a point is high quality within this many standard deviations of its nearest mode
SCORE_SAMPLES = 2500  # the papers score 2,500 generated points


def mode_scores(points: torch.Tensor, centres: torch.Tensor, std: float) -> dict[str, float]:
    """points (N x 2) against Gaussian modes (K x 2 centres, one std): {modes covered (count of modes holding at
    least one high-quality point), HQ % (points within 3 std of their nearest mode), reverse KL of the high-quality
    points' mode histogram to uniform}. Without any high-quality point the histogram is undefined: its reverse KL is
    reported as log K, the value of a single mode, so a collapse never looks better than one."""
    assert points.dim() == 2 and points.shape[1] == 2 and centres.dim() == 2 and centres.shape[1] == 2
    dist = torch.cdist(points.double(), centres.double())  # N x K
    nearest_dist, nearest = dist.min(1)  # N, N
    hq = nearest_dist <= HQ_STDS * std  # N
    k = centres.shape[0]
    counts = torch.bincount(nearest[hq], minlength=k).double()  # K
    total = float(counts.sum())
    if total == 0:
        rkl = math.log(k)
    else:
        p = counts / total
        p = p[p > 0]
        rkl = float((p * (p * k).log()).sum())  # KL(p || uniform) = sum p log(p / (1/K))
    return {MODES_COVERED: int((counts > 0).sum()), MODES_HQ: 100.0 * float(hq.double().mean()),
            MODES_RKL: max(0.0, rkl)}


def collapse_message(covered: int, total: int) -> str:
    """The collapse alert in plain words."""
    return (f"The generator covers {covered} of {total} modes: it has collapsed onto part of the data. Try packing "
            "(pack 2-4), minibatch std, a lower learning rate, or another loss.")
