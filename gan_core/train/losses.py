"""GAN losses as pure functions of discriminator logits (N,), one object per loss, plus the gradient penalties of D.

The catalog (catalog.LOSSES) names each object with its flags; d_loss, g_loss and probabilities look them up there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..catalog import LOSSES as SPECS

LOSSES: dict[str, str] = {name: spec.description for name, spec in SPECS.items()}  # for lists and help

Pair = Callable[[torch.Tensor, torch.Tensor, float, float], torch.Tensor]


@dataclass(frozen=True)
class Loss:
    """d(real, fake, real_label, fake_label) and g(fake) on logits (N,); labels only matter where the loss has
    targets (bce, lsgan)."""

    d: Pair
    g: Callable[[torch.Tensor], torch.Tensor]


BCE = Loss(
    # BCE with logits: one fused, numerically stable op instead of Sigmoid + BCELoss.
    lambda real, fake, rl, fl: (F.binary_cross_entropy_with_logits(real, torch.full_like(real, rl))
                                + F.binary_cross_entropy_with_logits(fake, torch.full_like(fake, fl))),
    # Non-saturating: maximise log D(G(z)) rather than minimise log(1 - D(G(z))).
    lambda fake: F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake)),
)
# The penalty is added by the objective (it needs D and the inputs).
WASSERSTEIN = Loss(lambda real, fake, rl, fl: fake.mean() - real.mean(), lambda fake: -fake.mean())
HINGE = Loss(lambda real, fake, rl, fl: F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean(),
             lambda fake: -fake.mean())
LEAST_SQUARES = Loss(lambda real, fake, rl, fl: 0.5 * ((real - rl) ** 2).mean() + 0.5 * ((fake - fl) ** 2).mean(),
                     lambda fake: 0.5 * ((fake - 1.0) ** 2).mean())


def _loss(name: str) -> Loss:
    if name not in SPECS:
        raise ValueError(f"unknown loss {name!r}")
    return SPECS[name].loss


def d_loss(
    name: str, real: torch.Tensor, fake: torch.Tensor, real_label: float = 1.0, fake_label: float = 0.0
) -> torch.Tensor:
    """Discriminator loss from logits on real (N,) and fake (N,) batches; labels only affect bce/lsgan targets."""
    return _loss(name).d(real, fake, real_label, fake_label)


def g_loss(name: str, fake: torch.Tensor) -> torch.Tensor:
    """Generator loss from D's logits on generated images (N,)."""
    return _loss(name).g(fake)


def gradient_penalty(critic: Callable[..., torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     labels: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad_x critic(x_hat)||_2 - 1)^2] on random interpolates x_hat."""
    n = real.shape[0]
    alpha = torch.rand(n, *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)  # N x 1 x 1 x 1
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = critic(x_hat, labels)  # N logits, or N/m for a critic that packs m samples into one input
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)  # N x C x H x W
    # The norm of the gradient with respect to each of the critic's inputs (a pack of m samples for a packing critic).
    return ((grad.reshape(out.shape[0], -1).norm(2, dim=1) - 1.0) ** 2).mean()


def r1_penalty(critic: Callable[..., torch.Tensor], real: torch.Tensor,
               labels: torch.Tensor | None = None) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E||grad_x D(x)||^2 at real x, over D's inputs (a pack of m samples for a packing
    D); the caller weighs it by gamma / 2. Zero-centred at the data, it lets generated samples settle on the real
    ones instead of D pushing them back and forth across them."""
    x = real.detach().requires_grad_(True)  # N x C x H x W
    out = critic(x, labels)  # N logits, or N/m for a D that packs m samples into one input
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)  # N x C x H x W
    return grad.square().sum() / out.shape[0]


def probabilities(name: str, logits: torch.Tensor) -> torch.Tensor:
    """Mean 'probability real' for the D(x)/D(G(z)) metrics: sigmoid of logits (a critic's raw score as it is)."""
    return logits.mean() if SPECS[name].critic else torch.sigmoid(logits).mean()
