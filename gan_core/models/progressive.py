"""Progressive resolution (ProGAN, Karras et al. 2018) for the convolutional nets: a half-resolution phase, then a
fade-in of the full-resolution layers; G always returns full-resolution images and D always takes them."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError


def resolution_alpha(step: int, half_steps: int, fade_steps: int) -> float:
    """How much of the full-resolution path is used at 0-based `step`: 0 for the first half_steps steps, then a linear
    ramp over fade_steps steps to 1 (a hard switch when fade_steps is 0); 1 throughout when half_steps is 0."""
    if half_steps <= 0:
        return 1.0
    if step < half_steps:
        return 0.0
    if fade_steps <= 0:
        return 1.0
    return min(1.0, (step - half_steps + 1) / fade_steps)


def _spatial_sizes(net: nn.Sequential, x: torch.Tensor) -> list[tuple[int, ...]]:
    """Each module's output shape (without the batch) for input x; eval mode, so BatchNorm statistics stay put."""
    was_training = net.training
    net.eval()
    shapes = []
    with torch.no_grad():
        for module in net:
            x = module(x)
            shapes.append(tuple(x.shape[1:]))
    net.train(was_training)
    return shapes


class _Blend(nn.Module):
    """Holds alpha, the share of the full-resolution path: a Python float for forward (no device sync per call) and a
    buffer that carries it into checkpoints, exports and copies, so a run stopped in its half phase samples as
    trained. Set both with set_alpha."""

    def __init__(self) -> None:
        super().__init__()
        self.alpha = 1.0
        self.register_buffer("saved_alpha", torch.tensor(1.0))

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args)
        self.alpha = float(self.saved_alpha)  # once per load


class ProgressiveG(_Blend):
    """A generator net split where it reaches full resolution: body (N x in -> N x F x S/2 x S/2), head (-> N x C x S
    x S) and a 1x1 toRGB at S/2. Alpha 0: toRGB at S/2, upsampled (nearest) to S, so the head costs nothing; between:
    the two lerped (ProGAN's fade-in); 1: the head alone, the plain net."""

    def __init__(self, net: nn.Sequential, g_in: int, channels: int, size: int):
        super().__init__()
        shapes = _spatial_sizes(net, torch.zeros(2, g_in))
        split = next(i for i, s in enumerate(shapes) if len(s) == 3 and s[1] == size)  # first layer at full size
        if split == 0 or shapes[split - 1][1:] != (size // 2, size // 2):
            raise ConfigError(f"This generator does not grow through {size // 2} x {size // 2}: progressive "
                              "resolution needs an image size divisible by 4; set the half-resolution steps to 0.")
        self.body, self.head = net[:split], net[split:]
        self.to_rgb_half = nn.Sequential(nn.Conv2d(shapes[split - 1][0], channels, 1), nn.Tanh())
        nn.init.normal_(self.to_rgb_half[0].weight, 0.0, 0.02)  # as dcgan_init: small, so the start is grey
        nn.init.zeros_(self.to_rgb_half[0].bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.body(z)  # N x F x S/2 x S/2
        if self.alpha >= 1.0:
            return self.head(h)  # N x C x S x S
        low = F.interpolate(self.to_rgb_half(h), scale_factor=2.0, mode="nearest")  # N x C x S x S, 2x2 blocks
        if self.alpha <= 0.0:
            return low
        return torch.lerp(low, self.head(h), self.alpha)


class ProgressiveD(_Blend):
    """A discriminator body split where it leaves half resolution: stem (N x C x S x S -> N x F x S/2 x S/2), trunk
    (-> N x feat) and a 1x1 fromRGB (+ LeakyReLU 0.2) at S/2 of the 2x2-average-pooled input. Alpha 0: fromRGB only,
    so the stem costs nothing; between: the two lerped; 1: the stem alone, the plain net."""

    def __init__(self, body: nn.Sequential, in_channels: int, size: int):
        super().__init__()
        shapes = _spatial_sizes(body, torch.zeros(2, in_channels, size, size))
        half = size // 2
        if len(shapes[0]) != 3 or shapes[0][1:] != (half, half):
            raise ConfigError("This discriminator does not halve the image in its first layer: progressive "
                              "resolution needs an image size divisible by 4; set the half-resolution steps to 0.")
        split = next(i for i, s in enumerate(shapes) if len(s) != 3 or s[1:] != (half, half))  # first below S/2
        self.stem, self.trunk = body[:split], body[split:]
        self.from_rgb_half = nn.Sequential(nn.Conv2d(in_channels, shapes[split - 1][0], 1), nn.LeakyReLU(0.2))
        nn.init.normal_(self.from_rgb_half[0].weight, 0.0, 0.02)
        nn.init.zeros_(self.from_rgb_half[0].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.alpha >= 1.0:
            h = self.stem(x)  # N x F x S/2 x S/2
        else:
            h = self.from_rgb_half(F.avg_pool2d(x, 2))  # N x F x S/2 x S/2 from the S/2 image
            if self.alpha > 0.0:
                h = torch.lerp(h, self.stem(x), self.alpha)
        return self.trunk(h)  # N x feat


def set_alpha(modules: list[nn.Module], alpha: float) -> None:
    """Set the full-resolution share of every progressive net inside these modules (G, D, the EMA copy)."""
    for module in modules:
        for m in module.modules():
            if isinstance(m, _Blend):
                m.alpha = alpha
                m.saved_alpha.fill_(alpha)
