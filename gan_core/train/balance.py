"""Cluster balance: G is pulled to draw each kind of image as often as the data holds it, where the kinds are
k-means clusters of a small self-supervised (SimCLR) encoder trained on the real images, no labels used."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..data import STATS_CACHE, ImageData, Progress, data_root
from ..data.stacked import digit_index, distinct_digits, is_stacked
from ..fileio import save_atomic
from ..metrics.coverage import CLASSIFIER_SIZE, prepare
from ..metrics.quality import data_key, load_cache

VERSION = "cluster-balance-v2"  # part of the cache key: bump when the recipe below changes
WIDTH, DIM = 16, 128  # conv widths 16/32/64, 128 features: ~0.4 M weights
ENCODER_STEPS, ENCODER_BATCH, ENCODER_LR, TEMPERATURE = 400, 256, 2e-3, 0.2  # SimCLR: ~85 s of one CPU thread
CLUSTERS, KMEANS_ITERS, KMEANS_UNITS = 100, 50, 10_000
# Soft assignment sharpness (features are unit vectors, so cosines): at 0.015 a real digit gives its nearest of the 100
# clusters two thirds of its weight; at 0.1 (v1's) a tenth, and G matched that blurred histogram, digits still tilted.
# The memory of the generated histogram: 0.99 averages ~100 batches, ~6,400 samples a group, while G moves slowly.
SHARPNESS, MEMORY = 0.015, 0.99
SEED = 1234  # the encoder's and k-means' own stream: building the balance never moves the run's


class Encoder(nn.Module):
    """C x 28 x 28 in [-1, 1] -> unit feature vectors (DIM); `head` is SimCLR's projection, used in training only."""

    def __init__(self, channels: int, width: int = WIDTH, dim: int = DIM) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, 1, 1), nn.BatchNorm2d(width), nn.ReLU(),  # 28 x 28
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.ReLU(),  # 14 x 14
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1), nn.BatchNorm2d(4 * width), nn.ReLU(),  # 7 x 7
            nn.Conv2d(4 * width, dim, 7), nn.Flatten())  # dim
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.body(x), dim=1)


def random_views(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """N x C x 28 x 28 in [-1, 1] -> a random view of each: rotated (±20°), scaled (±15 %), sheared, shifted (±10 %
    of the side), and a quarter drawn thicker, a sixth thinner (a 3 x 3 max / min filter)."""
    n = x.shape[0]

    def uniform(scale: float) -> torch.Tensor:
        return (torch.rand(n, generator=gen) * 2 - 1) * scale

    angle, scale, shear, tx, ty = uniform(0.35), 1 + uniform(0.15), uniform(0.3), uniform(0.2), uniform(0.2)
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack([torch.stack([cos / scale, (shear - sin) / scale, tx], 1),
                         torch.stack([sin / scale, cos / scale, ty], 1)], 1)  # N x 2 x 3
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    y = F.grid_sample(x + 1, grid, align_corners=False) - 1  # the background (-1) fills what moves in
    pick = torch.rand(n, generator=gen).view(-1, 1, 1, 1)
    thick, thin = F.max_pool2d(y, 3, 1, 1), -F.max_pool2d(-y, 3, 1, 1)
    return torch.where(pick < 0.25, thick, torch.where(pick > 5 / 6, thin, y))


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float = TEMPERATURE) -> torch.Tensor:
    """SimCLR's loss for two views' projections (N x P each): each view must pick its partner among 2N - 1."""
    z = F.normalize(torch.cat([a, b]), dim=1)  # 2N x P
    sim = (z @ z.t() / temperature).fill_diagonal_(-math.inf)  # 2N x 2N
    n = a.shape[0]
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(sim, partner)


def train_encoder(units: torch.Tensor, steps: int, progress: Progress | None = None,
                  message: str = "Training the cluster encoder") -> Encoder:
    """A SimCLR encoder on uint8 N x C x H x W images (seeded; CPU); progress(fraction, message) about 20 times."""
    gen = torch.Generator().manual_seed(SEED)
    with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.enable_grad():
        torch.manual_seed(SEED)  # the initial weights
        encoder = Encoder(units.shape[1])
        x = prepare(units, units.shape[1])  # N x C x 28 x 28
        opt = torch.optim.Adam(encoder.parameters(), ENCODER_LR)
        every = max(1, steps // 20)
        for step in range(steps):
            if progress is not None and step % every == 0:
                progress(step / steps, message)
            batch = x[torch.randint(len(x), (min(ENCODER_BATCH, len(x)),), generator=gen)]
            views = [encoder.head(encoder.body(random_views(batch, gen))) for _ in range(2)]
            loss = nt_xent(*views)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    if progress is not None:
        progress(1.0, message)
    return encoder.eval().requires_grad_(False)


@torch.no_grad()
def embed(encoder: Encoder, units: torch.Tensor, chunk: int = 2000) -> torch.Tensor:
    """uint8 N x C x H x W (host) -> N x DIM unit features (host), computed on the encoder's device."""
    device = next(encoder.parameters()).device
    return torch.cat([encoder(prepare(units[i:i + chunk], units.shape[1]).to(device)).cpu()
                      for i in range(0, len(units), chunk)])


def kmeans(features: torch.Tensor, k: int, iters: int = KMEANS_ITERS) -> torch.Tensor:
    """Spherical k-means of N x D unit vectors, seeded: K x D unit centroids."""
    gen = torch.Generator().manual_seed(SEED)
    centroids = features[torch.randperm(len(features), generator=gen)[:k]].clone()
    for _ in range(iters):
        nearest = (features @ centroids.t()).argmax(1)  # N
        sums = torch.zeros_like(centroids).index_add_(0, nearest, features)
        filled = torch.bincount(nearest, minlength=len(centroids)) > 0  # an empty cluster keeps its centroid
        centroids[filled] = F.normalize(sums[filled], dim=1)
    return centroids


def units_of(data: ImageData) -> torch.Tensor:
    """The images whose kinds are balanced: stacked MNIST's distinct digits (each channel is one digit, and each
    channel is balanced on its own), else the images themselves. uint8 N x C x H x W."""
    return distinct_digits(data).images if is_stacked(data) else data.images


class ClusterBalance:
    """G's extra loss: sum over groups (stacked MNIST: its 3 channels) of <log(h / r), the batch's histogram>, where
    r is the real units' soft histogram over the clusters and h a running mean of G's. Its gradient is KL(h || r)'s
    through this batch: samples move from the clusters G overdraws toward those it underdraws."""

    def __init__(self, encoder: Encoder, centroids: torch.Tensor, real: torch.Tensor, groups: int) -> None:
        self.encoder, self.centroids, self.real, self.groups = encoder, centroids, real, groups  # _, K x D, K
        self.running: torch.Tensor | None = None  # groups x K: G's recent histogram per group

    @classmethod
    def for_data(cls, data: ImageData, device: torch.device | str = "cpu", progress: Progress | None = None,
                 cache_dir: str | Path | None = None) -> ClusterBalance:
        """Encoder, clusters and the real histogram for this data set: trained once (~1.5 CPU minutes), then
        loaded from the data folder's stats cache."""
        units = units_of(data)
        folder = Path(cache_dir) if cache_dir is not None else data_root() / STATS_CACHE
        path = folder / f"cluster-balance-{data_key(data, VERSION)}.pt"
        saved = load_cache(path)
        if saved is None or saved.get("version") != VERSION:
            encoder = train_encoder(units, ENCODER_STEPS, progress,
                                    message=f"Training the cluster encoder on {len(units):,} images (once; cached)")
            pick = torch.randperm(len(units), generator=torch.Generator().manual_seed(SEED))[:KMEANS_UNITS]
            features = embed(encoder, units[pick])  # N x DIM
            centroids = kmeans(features, min(CLUSTERS, len(features)))
            saved = {"version": VERSION, "encoder": encoder.state_dict(), "centroids": centroids,
                     "real": soft_assign(features, centroids).mean(0)}
            save_atomic(saved, path)
        balance = cls.untrained(data, device)
        balance.load_state_dict(saved)
        return balance

    @classmethod
    def untrained(cls, data: ImageData, device: torch.device | str = "cpu") -> ClusterBalance:
        """A random encoder and random clusters: a trained balance's cost per step without its training (speed
        probes), and the shell that for_data loads."""
        stacked = is_stacked(data)
        with torch.random.fork_rng(devices=[]):  # the run's random stream is left as it was
            torch.manual_seed(SEED)
            encoder = Encoder(1 if stacked else data.shape[0]).to(device).eval().requires_grad_(False)
            centroids = F.normalize(torch.randn(CLUSTERS, DIM), dim=1).to(device)  # K x DIM
        return cls(encoder, centroids, torch.full((CLUSTERS,), 1 / CLUSTERS, device=device), 3 if stacked else 1)

    def clusters_of(self, data: ImageData) -> torch.Tensor:
        """Each image's nearest cluster in each group: int64 N x groups, on the host (stacked MNIST: each channel's
        digit's, each distinct digit read once)."""
        units, index = digit_index(data) if is_stacked(data) else (data.images, None)  # M x C' x H x W, N x 3
        nearest = (embed(self.encoder, units) @ self.centroids.cpu().t()).argmax(1)  # M
        return nearest[index] if index is not None else nearest.unsqueeze(1)

    def loss(self, fake: torch.Tensor, weight: float = 1.0, picked: torch.Tensor | None = None,
             guidance: float = 0.0) -> torch.Tensor:
        """fake: B x C x H x W in [-1, 1] with G's graph -> the scalar term x weight (G's gradients only); with
        picked (B x groups: the clusters a cluster-conditioned G was asked for), plus guidance x the cross-entropy of
        each group's cluster assignment against the cluster it was asked for."""
        b = fake.shape[0]
        units = fake.float().reshape(b * self.groups, -1, *fake.shape[2:])  # stacked: 3B x 1 x H x W
        if units.shape[-1] != CLASSIFIER_SIZE:  # the encoder sees 28 x 28, as coverage.prepare gives it the reals
            units = F.interpolate(units, size=(CLASSIFIER_SIZE, CLASSIFIER_SIZE), mode="bilinear", align_corners=False,
                                  antialias=True)
        # fp32 even inside the G phase's autocast: at SHARPNESS a bf16 cosine's rounding moves a logit by ~0.26.
        with torch.autocast(units.device.type, enabled=False):
            logits = cluster_logits(self.encoder(units), self.centroids)  # B*groups x K
            hist = F.softmax(logits, 1).view(b, self.groups, -1).mean(0)  # groups x K
        seen = hist.detach()
        self.running = seen if self.running is None else MEMORY * self.running + (1 - MEMORY) * seen
        term = weight * ((self.running.log() - self.real.log()) * hist).sum()
        if picked is not None and guidance:
            term = term + guidance * F.cross_entropy(logits, picked.reshape(-1))  # rows: sample-major, as units
        return term

    def state_dict(self) -> dict[str, Any]:
        """What exact resume needs (the encoder too, so a resumed run never depends on the cache)."""
        return {"version": VERSION, "encoder": self.encoder.state_dict(), "centroids": self.centroids.cpu(),
                "real": self.real.cpu(), "running": None if self.running is None else self.running.cpu()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore state_dict's dict (or a cache file's, which has no running histogram) on this balance's device."""
        self.encoder.load_state_dict(state["encoder"])
        device = next(self.encoder.parameters()).device
        self.centroids, self.real = state["centroids"].to(device), state["real"].to(device)
        self.running = None if state.get("running") is None else state["running"].to(device)


def cluster_logits(features: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """N x D unit features -> N x K logits of their clusters: cosines / SHARPNESS."""
    return features @ centroids.t() / SHARPNESS


def soft_assign(features: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """N x D unit features -> N x K soft cluster memberships (a softmax over cluster_logits)."""
    return F.softmax(cluster_logits(features, centroids), 1)
