"""The tutorial recipes' own training loops, written as the tutorials write them (bench/speed.py times them)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gan_core.config import RunConfig
from gan_core.data import ImageData
from gan_core.models import build_models
from gan_core.presets import preset_config


@dataclass(frozen=True)
class Recipe:
    shape: tuple[int, int, int]  # C, H, W of the synthetic data
    loop: str  # which tutorial loop (a) copies: see TUTORIAL LOOPS


# Each tutorial recipe with the data shape it trains on (fashion-dcgan64 resizes Fashion-MNIST to 64x64).
RECIPES: dict[str, Recipe] = {
    "mnist-mlp-small": Recipe((1, 28, 28), "detach"),
    "mnist-mlp-deep": Recipe((1, 28, 28), "realpython"),
    "cifar10-upsample-conv": Recipe((3, 32, 32), "detach"),
    "fashion-dcgan64": Recipe((1, 64, 64), "pytorch-dcgan"),
    "cifar10-wgan-gp": Recipe((3, 32, 32), "wgan-gp"),
}



# ---- data -------------------------------------------------------------------------------------------------------
def synthetic(shape: tuple[int, int, int], n: int, seed: int = 0, name: str = "synthetic") -> ImageData:
    """n random uint8 images of one shape with 10 classes: speed does not depend on pixel values. name: the data
    set they stand in for (stacked MNIST's recipe trains per channel on a set of that name)."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (n,), generator=g)
    return ImageData(images, labels, [str(i) for i in range(10)], name=name)


def recipe_config(name: str, device: str = "cpu") -> RunConfig:
    cfg = preset_config(name)
    cfg.train.device = device
    return cfg


# ---- TUTORIAL LOOPS ---------------------------------------------------------------------------------------------
# Each is an endless generator that does one generator step per next(); the epoch loop re-creates the DataLoader
# iterator as `for epoch in range(num_epochs): for real, _ in loader:` does. Common to all, as the tutorials write it:
#   dataset = TensorDataset(images_in_[-1,1], labels); loader = DataLoader(dataset, batch_size=B, shuffle=True)
#   D ends in nn.Sigmoid() and the loss is nn.BCELoss() on its probabilities (not BCE with logits)
#   torch.optim.Adam(params, lr, betas) with no foreach/fused flag; model.zero_grad() / opt.zero_grad() defaults
#   loss.item() appended to a Python list every step (the tutorials' loss curves)
#   on a GPU: models moved with .to(device), each batch moved with real.to(device), noise made on the device
def tutorial_loop(cfg: RunConfig, data: ImageData, style: str) -> Iterator[tuple[float, float]]:
    """The tutorial `style`'s training loop on cfg's model and device: one generator step per next(), which
    returns the step's (D loss, G loss) as the tutorials record them (WGAN-GP: the Wasserstein estimate, -D(G(z)))."""
    t, latent = cfg.train, cfg.model.latent_dim
    dev = torch.device(t.device)
    torch.manual_seed(t.seed)
    G, D_logits = build_models(cfg.model, data.shape, data.num_classes, t.loss)  # the engine's exact architecture
    G.to(dev)
    D_logits.to(dev)
    real_images = data.images.float() / 127.5 - 1.0  # the tutorials' ToTensor + Normalize((0.5,), (0.5,))
    loader = DataLoader(TensorDataset(real_images, data.labels), batch_size=t.batch_size, shuffle=True, drop_last=True)
    opt_g = torch.optim.Adam(G.parameters(), lr=t.lr_g, betas=(t.beta1, t.beta2))
    opt_d = torch.optim.Adam(D_logits.parameters(), lr=t.lr_d, betas=(t.beta1, t.beta2))
    G.train()
    D_logits.train()
    losses_d: list[float] = []
    losses_g: list[float] = []

    def batches() -> Iterator[torch.Tensor]:
        while True:  # for epoch in range(num_epochs):
            for real, _ in loader:  # for n, (real_samples, labels) in enumerate(train_loader):
                yield real.to(dev)

    if style == "wgan-gp":
        # caogang/wgan-gp gan_cifar10.py (the usual PyTorch port of Gulrajani et al.): a fresh real batch per critic
        # iteration from an endless DataLoader generator, three critic forwards (real, fake, interpolates), three
        # backward calls, D frozen (requires_grad False) for the generator step; no Sigmoid, no BCE.
        D = D_logits
        one, mone = torch.tensor(1.0, device=dev), torch.tensor(-1.0, device=dev)
        data_iter = batches()

        def calc_gradient_penalty(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
            alpha = torch.rand(real.size(0), 1, 1, 1, device=dev).expand(real.size())
            interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            disc_interpolates = D(interpolates)
            gradients = torch.autograd.grad(outputs=disc_interpolates, inputs=interpolates,
                                            grad_outputs=torch.ones(disc_interpolates.size(), device=dev),
                                            create_graph=True, retain_graph=True, only_inputs=True)[0]
            gradients = gradients.view(gradients.size(0), -1)
            return ((gradients.norm(2, dim=1) - 1) ** 2).mean() * t.gp_lambda

        while True:
            for p in D.parameters():
                p.requires_grad = True
            for _ in range(t.n_critic):
                real = next(data_iter)
                D.zero_grad()
                D_real = D(real).mean()
                D_real.backward(mone)
                noise = torch.randn(t.batch_size, latent, device=dev)
                with torch.no_grad():
                    fake = G(noise)
                D_fake = D(fake).mean()
                D_fake.backward(one)
                gp = calc_gradient_penalty(real, fake)
                gp.backward()
                D_cost = D_fake - D_real + gp
                Wasserstein_D = D_real - D_fake
                opt_d.step()
            for p in D.parameters():
                p.requires_grad = False
            G.zero_grad()
            noise = torch.randn(t.batch_size, latent, device=dev)
            fake = G(noise)
            G_cost = -D(fake).mean()
            G_cost.backward()
            opt_g.step()
            losses_d.append(D_cost.item())
            losses_g.append(G_cost.item())
            losses_d.append(Wasserstein_D.item())
            yield losses_d[-1], losses_g[-1]

    D = nn.Sequential(D_logits, nn.Sigmoid())  # the tutorials' D ends in nn.Sigmoid()
    criterion = nn.BCELoss()
    data_iter = batches()
    while True:
        real = next(data_iter)
        b = real.size(0)
        if style == "realpython":
            # Real Python "Generative Adversarial Networks: Build Your First Models" (MNIST, G 100-256-512-1024-784):
            # real and generated samples concatenated into one D batch with label tensors, the fake batch NOT
            # detached (D's backward also runs through G), then a second, fresh G forward for the generator step.
            real_samples_labels = torch.ones((b, 1), device=dev)
            latent_space_samples = torch.randn((b, latent), device=dev)
            generated_samples = G(latent_space_samples)
            generated_samples_labels = torch.zeros((b, 1), device=dev)
            all_samples = torch.cat((real, generated_samples))
            all_samples_labels = torch.cat((real_samples_labels, generated_samples_labels))
            D.zero_grad()
            output_discriminator = D(all_samples).view(-1, 1)
            loss_discriminator = criterion(output_discriminator, all_samples_labels)
            loss_discriminator.backward()
            opt_d.step()
            latent_space_samples = torch.randn((b, latent), device=dev)
            G.zero_grad()
            generated_samples = G(latent_space_samples)
            output_discriminator_generated = D(generated_samples).view(-1, 1)
            loss_generator = criterion(output_discriminator_generated, real_samples_labels)
            loss_generator.backward()
            opt_g.step()
            losses_d.append(loss_discriminator.item())
            losses_g.append(loss_generator.item())
        elif style == "detach":
            # The common "simple GAN" loop (one G forward per step): D on real and on fake.detach(), averaged
            # BCE, then D called again on the same fake for the generator's loss.
            noise = torch.randn(b, latent, device=dev)
            fake = G(noise)
            disc_real = D(real).view(-1)
            loss_d_real = criterion(disc_real, torch.ones_like(disc_real))
            disc_fake = D(fake.detach()).view(-1)
            loss_d_fake = criterion(disc_fake, torch.zeros_like(disc_fake))
            loss_d = (loss_d_real + loss_d_fake) / 2
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            output = D(fake).view(-1)
            loss_g = criterion(output, torch.ones_like(output))
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            losses_d.append(loss_d.item())
            losses_g.append(loss_g.item())
        elif style == "pytorch-dcgan":
            # The PyTorch DCGAN tutorial (pytorch.org/tutorials/beginner/dcgan_faces_tutorial), with this recipe's
            # smoothed labels (0.9 / 0.1): separate backward calls for real and fake, D(x), D(G(z)) read with .item().
            D.zero_grad()
            label = torch.full((b,), t.real_label, dtype=torch.float, device=dev)
            output = D(real).view(-1)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()
            noise = torch.randn(b, latent, device=dev)
            fake = G(noise)
            label.fill_(t.fake_label)
            output = D(fake.detach()).view(-1)
            errD_fake = criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            errD = errD_real + errD_fake
            opt_d.step()
            G.zero_grad()
            label.fill_(1.0)  # fake labels are real for generator cost
            output = D(fake).view(-1)
            errG = criterion(output, label)
            errG.backward()
            D_G_z2 = output.mean().item()
            opt_g.step()
            losses_g.append(errG.item())
            losses_d.append(errD.item())
            del D_x, D_G_z1, D_G_z2
        else:
            raise ValueError(style)
        yield losses_d[-1], losses_g[-1]


