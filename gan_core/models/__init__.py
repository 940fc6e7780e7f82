"""Registry of architectures by name; build_models returns a (G, D) pair for an image shape."""

from __future__ import annotations

from torch import nn

from ..config import ModelConfig
from .base import Discriminator, Generator
from .conv import build_dcgan, build_upsample_conv
from .mlp import MLP_VARIANTS, build_mlp, build_mlp2d

ARCHITECTURES: dict[str, str] = {
    "mlp-small": "Small MLP (MNIST tutorial): noise 32 -> 128 -> pixels; D pixels -> 64 -> 1.",
    "mlp": "MLP (colored-triangles tutorial): noise 100 -> 256 -> pixels; D pixels -> 256 -> 1.",
    "mlp-deep": "Deep MLP (MNIST tutorial): G 256-512-1024, D 2048-1024-512-256 with dropout 0.3.",
    "upsample-conv": "Upsample + 3x3 conv generator, strided-conv D with dropout (CIFAR-10 tutorial).",
    "dcgan": "DCGAN: transposed-conv G with BatchNorm/ReLU, conv D with LeakyReLU 0.2; width option.",
    "mlp-2d": "2-D point MLP (ring, grid, spiral, moons): G and D of 3 hidden layers of `width` units.",
}


def resolve_d_norm(cfg: ModelConfig, loss: str) -> str:
    """'auto' means BatchNorm, except for a WGAN-GP critic, whose per-sample penalty BatchNorm breaks."""
    if cfg.d_norm != "auto":
        return cfg.d_norm
    return "none" if loss == "wgan-gp" else "batch"


def build_models(cfg: ModelConfig, image_shape: tuple[int, int, int], num_classes: int = 0,
                 loss: str = "bce", class_head: bool = False) -> tuple[Generator, Discriminator]:
    """Build (G, D) for images of image_shape (C, H, W); num_classes > 0 with cfg.conditional makes them conditional,
    and class_head gives a conditional D a class head (AC-GAN)."""
    cfg.validate()
    classes = num_classes if cfg.conditional else 0
    g_in = cfg.latent_dim + classes
    d_norm = resolve_d_norm(cfg, loss)
    d_channels = image_shape[0] * cfg.pack  # packing: D's input joins `pack` samples along the channels
    net: nn.Module
    if cfg.arch in MLP_VARIANTS:
        net, body, feat = build_mlp(cfg.arch, image_shape, g_in, cfg.pack)
    elif cfg.arch == "mlp-2d":
        net, body, feat = build_mlp2d(image_shape, g_in, cfg.width, cfg.pack)
    elif cfg.arch == "dcgan":
        net, body, feat = build_dcgan(image_shape, g_in, cfg.width, d_norm, d_channels)
    else:
        net, body, feat = build_upsample_conv(image_shape, g_in, cfg.width, d_norm, d_channels)
    return (Generator(net, cfg.latent_dim, image_shape, classes),
            Discriminator(body, feat, image_shape, classes, class_head, cfg.pack, cfg.mbstd))


__all__ = ["ARCHITECTURES", "Discriminator", "Generator", "build_models", "resolve_d_norm"]
