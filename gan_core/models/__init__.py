"""Registry of architectures by name; build_models returns a (G, D) pair for an image shape."""

from __future__ import annotations

from torch import nn

from ..catalog import ARCHS, LOSSES
from ..config import ModelConfig
from .base import Discriminator, Generator
from .clustered import CLUSTERS, EMBED, ClusterGenerator
from .progressive import ProgressiveD, ProgressiveG

ARCHITECTURES: dict[str, str] = {name: spec.description for name, spec in ARCHS.items()}  # for lists and help


def resolve_d_norm(cfg: ModelConfig, loss: str, r1: bool = False) -> str:
    """'auto' means BatchNorm, except for a WGAN-GP critic or an R1-penalised D, whose per-sample gradient penalties
    BatchNorm breaks."""
    if cfg.d_norm != "auto":
        return cfg.d_norm
    return "none" if LOSSES[loss].needs_gp or r1 else "batch"


def build_models(cfg: ModelConfig, image_shape: tuple[int, int, int], num_classes: int = 0,
                 loss: str = "bce", class_head: bool = False, progressive: bool = False, r1: bool = False
                 ) -> tuple[Generator, Discriminator]:
    """Build (G, D) for images of image_shape (C, H, W); num_classes > 0 with cfg.conditional makes them conditional,
    class_head gives a conditional D a class head (AC-GAN), progressive gives a convolutional G and D a
    half-resolution path (progressive.py; alpha starts at 1, the plain nets, until the trainer sets it), and r1 (D's
    gradient penalised at real images) keeps an 'auto' D free of BatchNorm."""
    cfg.validate()
    classes = num_classes if cfg.conditional else 0
    g_in = cfg.latent_dim + classes + cfg.cluster_groups * EMBED  # noise, then a class or the clusters' codes
    d_norm = resolve_d_norm(cfg, loss, r1)
    net: nn.Module
    spec = ARCHS[cfg.arch]
    # What only some builders take: the point MLP's G depth (the other nets have their own), D's own width.
    extra = {"depth": cfg.depth} if spec.points else {}
    if spec.d_width:
        extra["d_width"] = cfg.d_width  # 0: G's width
    net, body, feat = spec.build(cfg.arch, image_shape, g_in, cfg.width, d_norm, cfg.pack, **extra)
    if progressive:
        c, size = image_shape[0], image_shape[1]
        net, body = ProgressiveG(net, g_in, c, size), ProgressiveD(body, cfg.pack * c, size)
    g = (ClusterGenerator(net, cfg.latent_dim, image_shape, cfg.cluster_groups) if cfg.cluster_groups
         else Generator(net, cfg.latent_dim, image_shape, classes))
    return g, Discriminator(body, feat, image_shape, classes, class_head, cfg.pack, cfg.mbstd, cfg.cluster_groups,
                            CLUSTERS)


__all__ = ["ARCHITECTURES", "ClusterGenerator", "Discriminator", "Generator", "build_models", "resolve_d_norm"]
