"""Generator/discriminator wrappers shared by every architecture: shape checks and the conditional forms."""

from __future__ import annotations

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
    optionally with a class head (AC-GAN) that predicts the class of what it sees."""

    def __init__(self, body: nn.Module, feature_dim: int, image_shape: tuple[int, int, int], num_classes: int = 0,
                 class_head: bool = False):
        super().__init__()
        self.body = body
        self.head = nn.Linear(feature_dim, 1)
        self.image_shape = tuple(image_shape)
        self.num_classes = num_classes
        # Projection discriminator (Miyato & Koyama 2018): logit += <embed(y), features>. Zero at the start: a
        # random N(0, 1) embedding adds +-sqrt(F) to every logit and swamps what D learns from the images.
        self.embed = nn.Embedding(num_classes, feature_dim) if num_classes else None
        if self.embed is not None:
            nn.init.zeros_(self.embed.weight)
        # Auxiliary classifier (Odena et al. 2017): class logits from the same features.
        self.classes = nn.Linear(feature_dim, num_classes) if class_head and num_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, with_classes: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """N logits (no Sigmoid: losses work on logits); with_classes: (logits, N x num_classes class logits)."""
        assert x.shape[1:] == self.image_shape, (x.shape, self.image_shape)
        h = self.body(x)  # N x F
        out = self.head(h).squeeze(1)  # N
        if self.embed is not None:
            assert y is not None, "conditional discriminator needs labels"
            out = out + (self.embed(y) * h).sum(1)
        if with_classes:
            assert self.classes is not None, "this discriminator has no class head"
            return out, self.classes(h)
        return out


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
