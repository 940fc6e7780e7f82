"""GAN losses as pure functions of discriminator logits (N,), plus the WGAN-GP gradient penalty."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

LOSSES: dict[str, str] = {
    "bce": "Minimax BCE for D, non-saturating BCE for G (the classic GAN); supports label smoothing.",
    "wgan-gp": "Wasserstein critic with gradient penalty (lambda 10, n_critic steps); no BatchNorm in the critic.",
    "hinge": "Hinge loss (as in SAGAN/BigGAN): D max(0, 1 - D(x)) + max(0, 1 + D(G(z))), G -D(G(z)).",
    "lsgan": "Least squares GAN: D (D(x) - 1)^2 + D(G(z))^2, G (D(G(z)) - 1)^2.",
}


def d_loss(
    name: str, real: torch.Tensor, fake: torch.Tensor, real_label: float = 1.0, fake_label: float = 0.0
) -> torch.Tensor:
    """Discriminator loss from logits on real (N,) and fake (N,) batches; labels only affect bce/lsgan targets."""
    if name == "bce":
        # BCE with logits: one fused, numerically stable op instead of Sigmoid + BCELoss.
        return (F.binary_cross_entropy_with_logits(real, torch.full_like(real, real_label))
                + F.binary_cross_entropy_with_logits(fake, torch.full_like(fake, fake_label)))
    if name == "wgan-gp":
        return fake.mean() - real.mean()  # the penalty is added by the trainer (needs D and inputs)
    if name == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    if name == "lsgan":
        return 0.5 * ((real - real_label) ** 2).mean() + 0.5 * ((fake - fake_label) ** 2).mean()
    raise ValueError(f"unknown loss {name!r}")


def g_loss(name: str, fake: torch.Tensor) -> torch.Tensor:
    """Generator loss from D's logits on generated images (N,)."""
    if name == "bce":
        # Non-saturating: maximise log D(G(z)) rather than minimise log(1 - D(G(z))).
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    if name in ("wgan-gp", "hinge"):
        return -fake.mean()
    if name == "lsgan":
        return 0.5 * ((fake - 1.0) ** 2).mean()
    raise ValueError(f"unknown loss {name!r}")


def gradient_penalty(critic: Callable[..., torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     labels: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad_x critic(x_hat)||_2 - 1)^2] on random interpolates x_hat."""
    n = real.shape[0]
    alpha = torch.rand(n, *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)  # N x 1 x 1 x 1
    x_hat = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = critic(x_hat, labels)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)  # N x C x H x W
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


def probabilities(name: str, logits: torch.Tensor) -> torch.Tensor:
    """Mean 'probability real' for the D(x)/D(G(z)) metrics: sigmoid of logits (a critic's raw score for wgan-gp)."""
    return logits.mean() if name == "wgan-gp" else torch.sigmoid(logits).mean()
