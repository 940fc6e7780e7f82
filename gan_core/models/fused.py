"""Same layers, fewer multiply-adds: nearest 2x upsampling then a 3x3 convolution, as one transposed convolution."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

# One dimension of the rewrite. After nearest 2x upsampling, even outputs 2i see inputs (i-1, i, i) through the 3x3
# taps (w0, w1, w2) and odd outputs 2i+1 see (i, i, i+1). A 4-tap, stride-2, padding-1 transposed convolution puts
# tap k of input i on output 2i - 1 + k, so its taps are (w2, w1 + w2, w0 + w1, w0): row k here sums those 3x3 taps.
_TAPS = ((0.0, 0.0, 1.0), (0.0, 1.0, 1.0), (1.0, 1.0, 0.0), (1.0, 0.0, 0.0))  # 4 x 3


@functools.cache
def _taps(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    # Made once per dtype and device: a fresh host-to-GPU copy in every forward would sync the host each step.
    return torch.tensor(_TAPS, dtype=dtype, device=device)


class UpsampledConv2d(nn.Conv2d):
    """Conv2d(3x3, stride 1, padding 1) of the input upsampled 2x (nearest), computed as a 4x4 stride-2 transposed
    convolution: 4 multiply-adds per output pixel and input channel instead of 9. Same parameters and state dict as
    the Conv2d it replaces, same result up to rounding."""

    def extra_repr(self) -> str:
        return "2x nearest upsampling, then " + super().extra_repr()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # N x in x H x W -> N x out x 2H x 2W
        taps = _taps(self.weight.dtype, self.weight.device)
        kernel = torch.einsum("ka,oiab,lb->iokl", taps, self.weight, taps)  # in x out x 4 x 4 (transposed layout)
        if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            kernel = kernel.contiguous(memory_format=torch.channels_last)  # oneDNN wants matching layouts
        return F.conv_transpose2d(x, kernel, self.bias, stride=2, padding=1)


def _fusable(up: nn.Module, conv: nn.Module) -> bool:
    scale = up.scale_factor if isinstance(up, nn.Upsample) else None
    return (isinstance(up, nn.Upsample) and up.mode == "nearest" and up.size is None
            and scale in (2, 2.0, (2, 2), (2.0, 2.0))
            and type(conv) is nn.Conv2d and conv.kernel_size == (3, 3) and conv.stride == (1, 1)
            and conv.padding == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
            and conv.padding_mode == "zeros")


def fuse_upsample_conv(net: nn.Module) -> int:
    """Replace each (Upsample 2x nearest, Conv2d 3x3) pair inside net's nn.Sequentials by (Identity, UpsampledConv2d)
    holding the same parameter tensors (state_dict keys unchanged); returns how many pairs were replaced."""
    count = 0
    for seq in [m for m in net.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            up, conv = seq[i], seq[i + 1]
            if not _fusable(up, conv):
                continue
            fused = UpsampledConv2d(conv.in_channels, conv.out_channels, 3, padding=1, bias=conv.bias is not None,
                                    device="meta")  # no throwaway weights: the conv's own tensors go in below
            fused.weight, fused.bias = conv.weight, conv.bias
            seq[i], seq[i + 1] = nn.Identity(), fused
            count += 1
    return count
