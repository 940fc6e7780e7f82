"""The tutorial MLP GANs: mlp-small (32-d noise), mlp (colored triangles), mlp-deep (4-layer MNIST); mlp-2d (points)."""

from __future__ import annotations

from torch import nn

# name -> (G hidden sizes, G activation, D hidden sizes, D activation, D dropout)
MLP_VARIANTS = {
    "mlp-small": ((128,), lambda: nn.LeakyReLU(0.01), (64,), lambda: nn.LeakyReLU(0.01), 0.0),
    "mlp": ((256,), nn.ReLU, (256,), lambda: nn.LeakyReLU(0.2), 0.0),
    "mlp-deep": ((256, 512, 1024), nn.ReLU, (2048, 1024, 512, 256), nn.ReLU, 0.3),
}


def _stack(sizes: list[int], act, dropout: float = 0.0) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), act()]
        if dropout:
            layers.append(nn.Dropout(dropout))
    return layers


def build_mlp(variant: str, image_shape: tuple[int, int, int], g_in: int, width: int = 0, d_norm: str = "none",
              pack: int = 1) -> tuple[nn.Module, nn.Module, int]:
    """Returns (G net: N x g_in -> N x C x H x W, D body: N x pack*C x H x W -> N x F, F); the MLPs' sizes are fixed
    by the variant, so width and d_norm (of the catalog's common builder signature) do not apply."""
    g_hidden, g_act, d_hidden, d_act, dropout = MLP_VARIANTS[variant]
    pixels = image_shape[0] * image_shape[1] * image_shape[2]
    g = nn.Sequential(*_stack([g_in, *g_hidden], g_act), nn.Linear(g_hidden[-1], pixels), nn.Tanh(),
                      nn.Unflatten(1, image_shape))
    d = nn.Sequential(nn.Flatten(), *_stack([pack * pixels, *d_hidden], d_act, dropout))
    return g, d, d_hidden[-1]


def build_mlp2d(name: str, image_shape: tuple[int, int, int], g_in: int, width: int, d_norm: str = "none",
                pack: int = 1, d_width: int | None = None, depth: int = 3) -> tuple[nn.Module, nn.Module, int]:
    """The 2-D point MLPs (PacGAN's toy nets, narrower): G noise -> depth x (width, ReLU) -> 2 coordinates, linear (a
    grid spans +-4, beyond Tanh); D pack x 2 coordinates -> 3 x (w, LeakyReLU 0.2) -> F = w, w = d_width (default:
    width). d_norm (of the catalog's common builder signature) does not apply. A deeper G folds its 2-D latent plane
    more sharply between modes, so fewer points fall on the bridges between them (docs/modes.md)."""
    assert tuple(image_shape) == (2, 1, 1), image_shape
    g = nn.Sequential(*_stack([g_in] + [width] * depth, nn.ReLU), nn.Linear(width, 2),
                      nn.Unflatten(1, (2, 1, 1)))
    w = d_width or width
    d = nn.Sequential(nn.Flatten(), *_stack([2 * pack, w, w, w], lambda: nn.LeakyReLU(0.2)))
    return g, d, w
