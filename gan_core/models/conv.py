"""Convolutional GANs: the CIFAR-10 upsample+conv tutorial net and DCGAN (transposed convolutions)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import ConfigError
from .base import dcgan_init, norm2d


def _base_size(size: int) -> int:
    """Smallest feature map the nets grow from: 4 for 2^k sizes (32, 64), 7 for 28."""
    for base in (4, 7):
        k = math.log2(size / base)
        if size % base == 0 and k >= 1 and k == int(k):
            return base
    raise ConfigError(f"Image size {size} is not supported by the convolutional models: use 28, 32, 56, 64 or 128.")


def build_dcgan(
    name: str, image_shape: tuple[int, int, int], g_in: int, width: int, d_norm: str, pack: int = 1,
    d_width: int | None = None
) -> tuple[nn.Module, nn.Module, int]:
    """DCGAN (Radford et al.): G z -> base x base -> ... -> S x S by stride-2 transposed convs; D mirrors it, at
    d_width (default: width). pack: D judges this many samples at once, joined along the channels (its input has
    pack x C channels)."""
    c, size, _ = image_shape
    d_channels = pack * c
    base = _base_size(size)
    n_up = int(math.log2(size // base))
    chans = [width * 2 ** (n_up - 1 - i) for i in range(n_up)]  # e.g. 64 px: [8w, 4w, 2w, w]
    d_chans = [(d_width or width) * 2 ** i for i in range(n_up)]  # D's, input side first: e.g. [w, 2w, 4w, 8w]
    g: list[nn.Module] = [nn.Unflatten(1, (g_in, 1, 1)),
                          nn.ConvTranspose2d(g_in, chans[0], base, 1, 0, bias=False),  # N x 8w x 4 x 4
                          nn.BatchNorm2d(chans[0]), nn.ReLU(True)]
    for a, b in zip(chans[:-1], chans[1:]):  # each doubles H and W
        g += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
    g += [nn.ConvTranspose2d(chans[-1], c, 4, 2, 1, bias=False), nn.Tanh()]  # N x C x S x S
    d: list[nn.Module] = []
    in_c = d_channels
    for i, out_c in enumerate(d_chans):  # each halves H and W down to base x base
        d.append(nn.Conv2d(in_c, out_c, 4, 2, 1, bias=False))
        if i > 0:  # no normalisation on the input layer (DCGAN paper)
            d.append(norm2d(d_norm, out_c))
        d.append(nn.LeakyReLU(0.2, True))
        in_c = out_c
    d.append(nn.Flatten())  # N x (8w * base * base); the linear head plays DCGAN's last base x base conv
    gnet, dnet = nn.Sequential(*g), nn.Sequential(*d)
    dcgan_init(gnet)
    dcgan_init(dnet)
    return gnet, dnet, in_c * base * base


def build_upsample_conv(
    name: str, image_shape: tuple[int, int, int], g_in: int, width: int, d_norm: str, pack: int = 1
) -> tuple[nn.Module, nn.Module, int]:
    """The CIFAR-10 tutorial net: linear -> 128 x S/4 x S/4 -> (upsample, conv3x3, BN, ReLU) x 2 -> conv -> Tanh.
    pack: D judges this many samples at once, joined along the channels (its input has pack x C channels)."""
    c, size, _ = image_shape
    d_channels = pack * c
    if size % 4:
        raise ConfigError(f"upsample-conv needs an image size divisible by 4, got {size}.")
    s4, w = size // 4, width
    g = nn.Sequential(
        nn.Linear(g_in, w * s4 * s4), nn.Unflatten(1, (w, s4, s4)), nn.BatchNorm2d(w),  # N x w x S/4 x S/4
        nn.Upsample(scale_factor=2), nn.Conv2d(w, w, 3, 1, 1), nn.BatchNorm2d(w), nn.ReLU(True),  # S/2
        nn.Upsample(scale_factor=2), nn.Conv2d(w, w // 2, 3, 1, 1), nn.BatchNorm2d(w // 2), nn.ReLU(True),  # S
        nn.Conv2d(w // 2, c, 3, 1, 1), nn.Tanh(),
    )
    layers: list[nn.Module] = []
    in_c = d_channels
    for i, out_c in enumerate((16, 32, 64, 128)):  # 4 strided blocks, each halves H and W (rounding up)
        layers += [nn.Conv2d(in_c, out_c, 3, 2, 1), nn.LeakyReLU(0.2, True), nn.Dropout2d(0.25)]
        if i > 0:
            layers.append(norm2d(d_norm, out_c))
        in_c = out_c
    layers.append(nn.Flatten())
    d = nn.Sequential(*layers)
    with torch.no_grad():
        feat = d(torch.zeros(2, d_channels, size, size)).shape[1]  # 128 * ceil(S/16)^2
    dcgan_init(g)
    dcgan_init(d)
    return g, d, feat
