"""Named recipes: each classic tutorial with its own hyperparameters, and one tuned default per data set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .catalog import DATASETS
from .config import DataConfig, ModelConfig, RunConfig, TrainConfig
from .errors import ConfigError


@dataclass(frozen=True)
class Preset:
    """A recipe: a one-line description and the settings that differ from the defaults."""

    description: str
    data: dict[str, Any]
    model: dict[str, Any]
    train: dict[str, Any]
    # Steps to recognisable samples, measured (bench/quality.py; the README's Quality table): the Train page's
    # "recognisable shapes after about N steps" times this machine's speed. None: not measured for this recipe.
    recognisable_after: int | None = None


# The MNIST-shaped defaults (MNIST, Fashion-MNIST): one recipe; preset_config copies these, so sharing is safe.
_DIGITS_MODEL = {"arch": "dcgan", "latent_dim": 64, "width": 32, "conditional": True}
_DIGITS_TRAIN = {"loss": "bce", "lr_g": 1e-3, "lr_d": 4e-4, "beta1": 0.5, "batch_size": 32, "ema": 0.995,
                 "class_weight": 0.3, "steps": 8000}

# The 2-D point sets' recipe (bench/modes.py tunes it; docs/modes.md has its figures).
_POINTS_MODEL = {"arch": "mlp-2d", "latent_dim": 2, "width": 128, "depth": 4, "pack": 2}
# fp32: bf16 keeps about 3 significant digits, coarser than the ring's modes (std 0.01 at radius 1). Precision late
# in training is what the high-quality share needs: Adam betas 0/0.9 at lr 2e-3 decaying linearly to 0, sampled from
# an EMA 0.999 of G (on the grid at 10,000 steps 29 % HQ with betas 0.5/0.999 and lr 1e-3, 67 % with these). The
# misses left are bridges between modes: R1 0.1 (D flat at the data) and a fourth layer in G took the ring's HQ from
# about 93 % to 98 % (docs/modes.md, session 9).
_POINTS_TRAIN = {"loss": "bce", "r1": 0.1, "r1_every": 4, "lr_g": 2e-3, "lr_d": 2e-3, "beta1": 0.0, "beta2": 0.9,
                 "lr_schedule": "linear", "ema": 0.999, "quality_every": 500, "sample_every": 200,
                 "log_every": 25, "amp": False}


def _points_preset(name: str, title: str, steps: int = 10000, batch_size: int = 384, d_width: int = 0) -> Preset:
    """The one recipe of every 2-D point set (PacGAN/VEEGAN's mixtures and two demos), with its step count, batch
    size (batch 384 lifted the ring's HQ from 97.6 % to 98 %) and D width (0: G's 128); figures in docs/modes.md."""
    d = f"D of width {d_width}" if d_width else "D of the same width"
    return Preset(
        f"Default for the {title}: point MLP (width 128, noise 2, G of 4 layers, {d}), PacGAN2 packing, BCE with R1 "
        f"0.1 (every 4th step), batch {batch_size}, lr 2e-3 (Adam betas 0/0.9) decaying linearly to 0, EMA 0.999 "
        f"sampling, {steps:,} steps.",
        {"name": name, "num_samples": 100000}, {**_POINTS_MODEL, "d_width": d_width},
        {**_POINTS_TRAIN, "steps": steps, "batch_size": batch_size},
    )

PRESETS: dict[str, Preset] = {
    "mnist-mlp-small": Preset(
        "Small MNIST MLP GAN tutorial: noise 32 -> 128 -> 784, D 784 -> 64 -> 1, batch 32.",
        {"name": "mnist"}, {"arch": "mlp-small", "latent_dim": 32},
        {"loss": "bce", "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.9, "beta2": 0.999, "batch_size": 32, "steps": 20000},
    ),
    "mnist-mlp-deep": Preset(
        "Deep MNIST MLP GAN tutorial: G 100 -> 256 -> 512 -> 1024 -> 784, D with dropout 0.3, batch 32.",
        {"name": "mnist"}, {"arch": "mlp-deep", "latent_dim": 100},
        {"loss": "bce", "lr_g": 1e-4, "lr_d": 1e-4, "beta1": 0.9, "beta2": 0.999, "batch_size": 32, "steps": 20000},
    ),
    "triangles-mlp": Preset(
        "Colored-triangles MLP GAN tutorial: noise 100 -> 256 -> 28x28 RGB, D pixels -> 256 -> 1.",
        {"name": "shapes", "shapes_mode": "triangles", "image_size": 28, "channels": 3},
        {"arch": "mlp", "latent_dim": 100},
        {"loss": "bce", "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999, "batch_size": 64, "steps": 5000},
    ),
    "cifar10-upsample-conv": Preset(
        "CIFAR-10 upsample+conv GAN tutorial: linear -> 128x8x8 -> upsample/conv x2, strided-conv D, batch 32.",
        {"name": "cifar10"}, {"arch": "upsample-conv", "latent_dim": 100, "width": 128},
        {"loss": "bce", "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999, "batch_size": 32, "steps": 20000},
    ),
    "fashion-dcgan64": Preset(
        "Fashion-MNIST DCGAN tutorial at 64x64: noise 256, 64 base features, labels 0.9/0.1, batch 128.",
        {"name": "fashion_mnist", "image_size": 64}, {"arch": "dcgan", "latent_dim": 256, "width": 64},
        {"loss": "bce", "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999, "batch_size": 128,
         "real_label": 0.9, "fake_label": 0.1, "steps": 5000},
    ),
    "cifar10-wgan-gp": Preset(
        "WGAN-GP on CIFAR-10: DCGAN generator, critic without BatchNorm, lambda 10, 5 critic steps.",
        {"name": "cifar10"}, {"arch": "dcgan", "latent_dim": 128, "width": 64, "d_norm": "layer"},
        {"loss": "wgan-gp", "lr_g": 1e-4, "lr_d": 1e-4, "beta1": 0.0, "beta2": 0.9, "batch_size": 64,
         "n_critic": 5, "gp_lambda": 10.0, "steps": 20000},
    ),
    # Tuned defaults: small class-conditional DCGANs whose D also names the class (an AC-GAN head), EMA sampling:
    # recognisable samples within a few CPU minutes (bench/quality.py; the tuning figures are in bench/README.md).
    # Shapes at width 16 (issue #23): a quarter of width 32's FLOPs and 2.3x its steps/s on the AVX2 class, at about
    # the same quality per step. MNIST stays at width 32: at width 16 two of three seeds drew grey-hazed digits at
    # 60 s (docs/quality.md).
    # Shapes: their positions vary, so D sees every image shifted by up to 4 pixels (DiffAugment's translation).
    "shapes-default": Preset(
        "Default for shapes: class-conditional DCGAN at 32x32 (width 16, noise 64) with a class loss 3.0 and shifted "
        "views for D, batch 32, lr 1e-3, EMA 0.995 sampling.",
        {"name": "shapes", "image_size": 32}, {"arch": "dcgan", "latent_dim": 64, "width": 16, "conditional": True},
        {"loss": "bce", "lr_g": 1e-3, "lr_d": 1e-3, "beta1": 0.5, "batch_size": 32, "ema": 0.995, "class_weight": 3.0,
         "augment": "translation", "steps": 8000},
        # bench/quality.py, 3 seeds, docs/quality.md: all three shapes (28-41% each) at 1,231 steps, where lr 4e-4
        # with class loss 1.0 drew no circles; 94.7% recognisable, shares 31-36% at 3,823 steps (that recipe: 91%).
        recognisable_after=3500,
    ),
    # MNIST: a class-conditional DCGAN whose D also names the digit (AC-GAN head, weight 0.3), timed on the real MNIST
    # test set with held-out judges (bench/quality.py; figures in bench/README.md).
    "mnist-default": Preset(
        "Default for MNIST: class-conditional DCGAN at 28x28 (width 32, noise 64) with a class loss 0.3, batch 32, "
        "lr 1e-3 for G and 4e-4 for D, EMA 0.995 sampling.",
        {"name": "mnist"}, _DIGITS_MODEL, _DIGITS_TRAIN,
        # lr 1e-3 for G (docs/quality.md, 3 seeds): legible 0-9, 95.5% recognisable at 1,003 steps (lr 4e-4: 92.8%).
        recognisable_after=1000,
    ),
    # Fashion-MNIST shares MNIST's 1 x 28 x 28 shape and net: the MNIST tuning, untested on Fashion-MNIST itself.
    "fashion_mnist-default": Preset(
        "Default for Fashion-MNIST: class-conditional DCGAN at 28x28 (width 32, noise 64) with a class loss 0.3, "
        "batch 32, lr 1e-3 for G and 4e-4 for D, EMA 0.995 sampling.",
        {"name": "fashion_mnist"}, _DIGITS_MODEL, _DIGITS_TRAIN,
    ),
    "cifar10-default": Preset(
        "Default for CIFAR-10: DCGAN at 32x32, EMA sampling.",
        {"name": "cifar10"}, {"arch": "dcgan", "latent_dim": 100, "width": 48},
        {"loss": "bce", "batch_size": 64, "ema": 0.999, "steps": 10000},
    ),
    "celeba-default": Preset(
        "Default for CelebA faces: DCGAN at 64x64, EMA sampling.",
        {"name": "celeba", "image_size": 64}, {"arch": "dcgan", "latent_dim": 100, "width": 32},
        {"loss": "bce", "batch_size": 64, "ema": 0.999, "steps": 10000},
    ),
    "folder-default": Preset(
        "Default for your own images: DCGAN at the images' own size and channels (28, 32, 64 or 128 px), EMA "
        "sampling.",
        {"name": "folder"}, {"arch": "dcgan", "latent_dim": 100, "width": 32},
        {"loss": "bce", "batch_size": 64, "ema": 0.999, "steps": 5000},
    ),
    # Stacked MNIST (1,000 modes): PacGAN's DCGAN with a packing D (PacDCGAN4); figures and probes in docs/modes.md.
    "stacked_mnist-default": Preset(
        "Default for stacked MNIST: DCGAN at 28x28 RGB (width 64, noise 64) with PacGAN4 packing, feature matching "
        "10, cluster balance 1 (each channel's digit kinds drawn as often as the data holds them) and a "
        "cluster-conditioned G and D (each channel's kind picked by the noise, drawn by G and told to D), batch 32, lr "
        "1.5e-3 for G and 6e-4 for D decaying linearly to 0 over 12,000 steps, EMA 0.999 sampling.",
        {"name": "stacked_mnist", "num_samples": 60000},
        {"arch": "dcgan", "latent_dim": 64, "width": 64, "pack": 4, "cluster_groups": 3},
        # docs/modes.md: lr 2e-4 for both drew no digit at 2,000 steps (1 mode); PacGAN4 instead of 2: KL 0.197
        # instead of 0.268 over 3 seeds; width 64 instead of 32 (session 12): 0.156; batch 32 over 20,000 steps
        # instead of 64 over 10,000 (session 13): 0.133 over 3 seeds, 861 s of one fp32 thread a run, 525 s for the
        # CLI's own run on 2 threads in bf16 (2-core AMD EPYC with AVX-512 and bf16, session 14); feature matching 10
        # (session 17): 0.111 over the same 3 seeds, lower in each, at no measurable cost; cluster balance 1 (session
        # 29, train/balance.py): 0.095 over the same 3 seeds, lower in each; its 100 clusters with sharp assignments
        # (session 30): 0.055 over the same 3 seeds, lower in each, 869 s of one fp32 thread a run. fp32 (session 35):
        # the CLI's runs in bf16 autocast, which it picks where faster, scored 0.071 over seeds 0-4 against fp32's 0.060
        # (higher in 4 of 5); fp32 on 2 threads took 518 s (2-core AMD EPYC with AVX-512 and bf16, no AMX). Session
        # 39 (models/clustered.py), read by the panel of five readers (the recipe before: 0.070): a cluster-conditioned
        # G alone, 0.062 over the same 3 seeds; with D told the clusters too, 0.031 at 12,000 steps, lower in each,
        # 764 s of one fp32 thread a run (its D's projection makes a step 1.45x the cost, so 20,000 no longer fit).
        {"loss": "bce", "lr_g": 1.5e-3, "lr_d": 6e-4, "beta1": 0.5, "batch_size": 32, "ema": 0.999,
         "feature_matching": 10.0, "cluster_balance": 1.0, "lr_schedule": "linear", "steps": 12000,
         "quality_every": 0, "amp": False},
    ),
    # 2-D point sets (PacGAN/VEEGAN's mixtures and two demos): the point MLP with packing; the recipe's figures are
    # in docs/modes.md (bench/modes.py).
    "ring-default": _points_preset("ring", "2-D ring"),
    # D of width 160 (session 12): 95.6 % HQ over 10 seeds, 111 s alone on a 2-core AMD EPYC with AVX-512 and bf16
    # (D of 128: 94.8 %, 89 s); batch 384 and 15,000 steps (session 10: 256 and 20,000: 94.3 %; 512 and 11,500: 93.7 %).
    "grid-default": _points_preset("grid", "2-D grid", steps=15000, d_width=160),
    "spiral-default": _points_preset("spiral", "2-D spiral"),
    "moons-default": _points_preset("moons", "2-D moons"),
}

DEFAULT_PRESET = "shapes-default"


def default_preset_for(dataset: str) -> str:
    """The tuned default recipe's name for a data set (its catalog record names it)."""
    return DATASETS[dataset].default_preset


def preset_config(name: str, /, **data_overrides: Any) -> RunConfig:
    """Build a validated RunConfig from a preset name; data_overrides patch the data section (e.g. data_dir)."""
    if name not in PRESETS:
        raise ConfigError(f"Unknown preset {name!r}. Run 'python -m gan_core list' to see the presets.")
    p = PRESETS[name]
    cfg = RunConfig(DataConfig(**{**p.data, **data_overrides}), ModelConfig(**p.model), TrainConfig(**p.train), name)
    return cfg.validate()
