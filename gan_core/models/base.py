"""Generator/discriminator wrappers shared by every architecture: shape checks and the conditional forms."""

from __future__ import annotations

import math

import torch
from torch import nn


class Generator(nn.Module):
    """Wraps a net mapping N x (latent [+ classes]) -> N x C x H x W in [-1, 1]; conditional by label concat."""

    def __init__(self, net: nn.Module, latent_dim: int, image_shape: tuple[int, int, int], num_classes: int = 0):
        super().__init__()
        self.net = net
        self.latent_dim = latent_dim
        self.image_shape = tuple(image_shape)
        self.num_classes = num_classes
        # Label embedding of the same width as a one-hot code, learned (conditional GAN, Mirza & Osindero).
        self.embed = nn.Embedding(num_classes, num_classes) if num_classes else None

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        assert z.dim() == 2 and z.shape[1] == self.latent_dim, (z.shape, self.latent_dim)
        if self.embed is not None:
            assert y is not None, "conditional generator needs labels"
            z = torch.cat([z, self.embed(y)], 1)  # N x (latent + classes)
        x = self.net(z)  # N x C x H x W
        assert x.shape[1:] == self.image_shape, (x.shape, self.image_shape)
        return x


class Discriminator(nn.Module):
    """Wraps a feature body (N x C x H x W -> N x F) with a linear logit head; conditional by projection, and
    optionally with a class head (AC-GAN) that predicts the class of what it sees.

    Two options against mode collapse, for any body: `pack` (PacGAN, Lin et al. 2018) joins m consecutive samples
    along the channels, so the body sees N/m inputs of m*C channels and D returns N/m logits; `mbstd` (ProGAN,
    Karras et al. 2018) appends to each input's features the mean standard deviation of the features over its
    group of `mbstd` consecutive inputs, so a batch of near-copies looks different from a varied real batch."""

    def __init__(self, body: nn.Module, feature_dim: int, image_shape: tuple[int, int, int], num_classes: int = 0,
                 class_head: bool = False, pack: int = 1, mbstd: int = 0, cluster_groups: int = 0, clusters: int = 0):
        super().__init__()
        self.body = body
        self.pack, self.mbstd = pack, mbstd
        self.head = nn.Linear(feature_dim + (1 if mbstd else 0), 1)
        self.image_shape = tuple(image_shape)
        self.num_classes = num_classes
        # Projection discriminator (Miyato & Koyama 2018): logit += <embed(y), features>. Zero at the start: a
        # random N(0, 1) embedding adds +-sqrt(F) to every logit and swamps what D learns from the images.
        self.embed = nn.Embedding(num_classes, feature_dim) if num_classes else None
        if self.embed is not None:
            nn.init.zeros_(self.embed.weight)
        # Conditioned on clusters (models/clustered.py; y: N x cluster_groups cluster indices): a projection term
        # with an embedding per pack slot, group and cluster, so a pack's logit adds <the sum of its samples' cluster
        # embeddings, features> and D learns what each slot's kind looks like. Zero at the start, as above.
        self.cluster_groups, self.clusters = cluster_groups, clusters
        self.cluster_embed = nn.Embedding(pack * cluster_groups * clusters, feature_dim) if cluster_groups else None
        if self.cluster_embed is not None:
            nn.init.zeros_(self.cluster_embed.weight)
        # Auxiliary classifier (Odena et al. 2017): class logits from the same features.
        self.classes = nn.Linear(feature_dim, num_classes) if class_head and num_classes else None
        # Feature matching reads the body's features of D's latest call (N/m x F): kept only while this is set.
        self.keep_features = False
        self.features: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, with_classes: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """N logits (no Sigmoid: losses work on logits); with_classes: (logits, N x num_classes class logits)."""
        assert x.shape[1:] == self.image_shape, (x.shape, self.image_shape)
        n = x.shape[0]
        if self.pack > 1:
            assert x.shape[0] % self.pack == 0, (x.shape, self.pack)
            x = x.reshape(x.shape[0] // self.pack, self.pack * x.shape[1], *x.shape[2:])  # N/m x mC x H x W
        h = self.body(x)  # N/m x F
        if self.keep_features:
            self.features = h
        out = self.head(minibatch_std(h, self.mbstd) if self.mbstd else h).squeeze(1)  # N/m
        if self.embed is not None:
            assert y is not None, "conditional discriminator needs labels"
            e = self.embed(y)  # N x F
            if self.pack > 1:  # a pack's projection: the mean of its samples' class embeddings
                e = e.reshape(-1, self.pack, e.shape[1]).mean(1)  # N/m x F
            out = out + (e * h).sum(1)
        if self.cluster_embed is not None:
            assert y is not None and y.shape == (n, self.cluster_groups), "a cluster-conditioned D needs the clusters"
            slot = torch.arange(n, device=y.device).unsqueeze(1) % self.pack  # N x 1: each sample's place in its pack
            group = torch.arange(self.cluster_groups, device=y.device)  # groups
            index = y + self.clusters * (group + self.cluster_groups * slot)  # N x groups: (slot, group, cluster) rows
            e = self.cluster_embed(index).reshape(n // self.pack, -1, h.shape[1]).sum(1)  # N/m x F
            out = out + (e * h).sum(1)
        if with_classes:
            assert self.classes is not None, "this discriminator has no class head"
            return out, self.classes(h)
        return out


def minibatch_std(h: torch.Tensor, group: int) -> torch.Tensor:
    """N x F features -> N x (F + 1): each input gets the mean over features of their standard deviation within its
    group of consecutive inputs (the largest size dividing N, at most `group`; the batches of training are
    multiples of it, so real and fake inputs never share a group)."""
    n = h.shape[0]
    g = math.gcd(n, group)
    grouped = h.float().reshape(n // g, g, -1)  # N/g x g x F
    # sqrt(var + 1e-8) as ProGAN: the gradient of a plain std is NaN where a group's features coincide.
    spread = (grouped.var(1, unbiased=False) + 1e-8).sqrt().mean(1, keepdim=True)  # N/g x 1 (~0 for groups of one)
    return torch.cat([h, spread.repeat_interleave(g, 0).to(h.dtype)], 1)


def norm2d(kind: str, channels: int) -> nn.Module:
    """The discriminator's normalisation: BatchNorm, LayerNorm-like GroupNorm(1) (safe with gradient penalty)
    or none."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def dcgan_init(module: nn.Module) -> None:
    """DCGAN paper initialisation: conv weights N(0, 0.02), norm scales N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
