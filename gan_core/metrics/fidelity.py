"""Improved precision and recall (Kynkäänniemi et al. 2019): k-nearest-neighbour manifolds in feature space."""

from __future__ import annotations

import torch

K = 3  # neighbours that set each ball's radius, as in the paper
_CHUNK = 1024  # rows of a distance matrix at a time: 1024 x 10,000 float32 is 40 MB


def kth_neighbour_distance(x: torch.Tensor, k: int = K) -> torch.Tensor:
    """Distance of each of N points (N x d) to its k-th nearest other point: the radius of its ball (N,)."""
    assert x.dim() == 2 and x.shape[0] > k, f"need more than k={k} points, got {tuple(x.shape)}"
    out = []
    for rows in x.split(_CHUNK):
        d = torch.cdist(rows, x)  # chunk x N; each row's own point is at 0 (and sorts first)
        out.append(d.topk(k + 1, dim=1, largest=False).values[:, k])
    return torch.cat(out)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = K,
                     real_radii: torch.Tensor | None = None) -> tuple[float, float]:
    """(precision, recall) of fake features (N x d) against real ones (M x d), both in [0, 1].

    precision: the share of samples inside the real manifold (the union of each real point's k-NN ball), i.e.
    samples that look real; recall: the share of real points inside the generated manifold, i.e. the real variety
    the samples cover. Compare sets of equal size: the balls shrink as a set grows. real_radii: the real points'
    kth_neighbour_distance, when cached.
    """
    real, fake = real.float(), fake.float()
    real_radii = kth_neighbour_distance(real, k) if real_radii is None else real_radii  # M
    fake_radii = kth_neighbour_distance(fake, k)  # N
    looks_real, covered = 0, torch.zeros(real.shape[0], dtype=torch.bool)
    for start in range(0, fake.shape[0], _CHUNK):  # one fake x real distance matrix serves both
        d = torch.cdist(fake[start:start + _CHUNK], real)  # chunk x M
        looks_real += int((d <= real_radii.unsqueeze(0)).any(dim=1).sum())
        covered |= (d <= fake_radii[start:start + _CHUNK].unsqueeze(1)).any(dim=0)
    return looks_real / max(fake.shape[0], 1), float(covered.float().mean()) if real.shape[0] else 0.0
