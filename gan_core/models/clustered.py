"""A generator conditioned on unlabelled kinds (as self-conditioned GANs, Liu et al. 2020): its latent picks a cluster
of the cluster balance's encoder for each image group (stacked MNIST: each channel), as often as the real images fill
it, and G draws that kind; D is told the clusters of what it judges (base.Discriminator's cluster projection)."""

from __future__ import annotations

import torch
from torch import nn

from .base import Generator

CLUSTERS = 100  # the cluster balance's k-means clusters (train/balance.py); a smaller data set leaves some empty
EMBED = 16  # each group's learned cluster embedding, joined to the noise


class ClusterGenerator(Generator):
    """G(z) as any unconditional generator, z: N x latent_dim standard normal. Its first `groups` latent dims pick
    each group's cluster by inverse transform sampling (the normal CDF, then the prior's cumulative shares), so a
    sample is still a function of z alone: sampling, latent sliders and ONNX export work unchanged, and the clusters
    come out in the prior's proportions. The prior (groups x CLUSTERS) is the real images' cluster shares, set by
    the trainer and saved with the weights."""

    def __init__(self, net: nn.Module, latent_dim: int, image_shape: tuple[int, int, int], groups: int) -> None:
        super().__init__(net, latent_dim, image_shape)
        assert 0 < groups <= latent_dim, (groups, latent_dim)
        self.groups = groups
        # groups x CLUSTERS cumulative shares; uniform until set_prior (a fresh G, or a checkpoint that loads its own)
        self.register_buffer("cumulative", torch.linspace(1 / CLUSTERS, 1, CLUSTERS).repeat(groups, 1))
        self.cluster_embed = nn.ModuleList(nn.Embedding(CLUSTERS, EMBED) for _ in range(groups))

    def set_prior(self, shares: torch.Tensor) -> None:
        """shares: groups x K (K <= CLUSTERS) or K, counts or shares (each row is normalised): how often each
        cluster is drawn."""
        shares = shares.to(self.cumulative).expand(self.groups, -1)
        padded = torch.zeros_like(self.cumulative)
        padded[:, :shares.shape[1]] = shares / shares.sum(1, keepdim=True)
        self.cumulative.copy_(padded.cumsum(1))

    def clusters(self, z: torch.Tensor) -> torch.Tensor:
        """N x latent_dim -> N x groups cluster indices."""
        u = 0.5 * (1 + torch.erf(z[:, :self.groups].float() / 2 ** 0.5))  # N x groups, uniform in (0, 1)
        # the first cluster whose cumulative share reaches u: a comparison count (searchsorted has no ONNX form)
        picked = (u.unsqueeze(2) > self.cumulative.unsqueeze(0)).sum(2)  # N x groups
        return picked.clamp_max(CLUSTERS - 1)  # u above a rounded last share of 1 - 1e-7

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        assert z.dim() == 2 and z.shape[1] == self.latent_dim, (z.shape, self.latent_dim)
        picked = self.clusters(z)  # N x groups
        codes = [embed(picked[:, k]) for k, embed in enumerate(self.cluster_embed)]  # groups x (N x EMBED)
        x = self.net(torch.cat([z, *codes], 1))  # N x C x H x W
        assert x.shape[1:] == self.image_shape, (x.shape, self.image_shape)
        return x
