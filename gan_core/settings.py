"""One declaration per run setting: its domain (numbers) or choices, plain-word label, help, CLI flag and form field.

RunConfig.validate (through DOMAINS and check_section), the CLI's `train` flags and the Train page's form all read
SETTINGS, so a setting's range, words and presence in each place live here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .catalog import ARCHS, LOSSES
from .limits import Domain

DEVICE_NAMES = ("auto", "cpu", "cuda", "mps")
D_NORMS = ("auto", "batch", "layer", "none")
SHAPES_MODES = ("mixed", "triangles")
LR_SCHEDULES = ("constant", "linear", "cosine")
# What the augmentation menu offers (augment.AUGMENTS combined as DiffAugment's papers use them); "" is none.
AUGMENT_CHOICES = ("", "translation", "translation,cutout", "color,translation,cutout")
FORM_PREFIX = "train_"  # the Train page's widget key of a form setting: train_<field>


@dataclass(frozen=True)
class Setting:
    """A field of a RunConfig section, declared once.

    Exactly one kind: a number (`domain`), a menu (`choices`), a switch (`switch`) or free text (none of them).
    `flag`: on the CLI's train command (--field-name); `form`: a field of the Train form (widget key train_<name>);
    `fixed`: a resume may not change it (the checkpoint's model, data and optimizer follow it).
    """

    section: str
    name: str
    label: str
    help: str = ""
    domain: Domain | None = None
    choices: tuple[Any, ...] = ()
    switch: bool = False
    flag: bool = True
    form: bool = False
    fixed: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.section, self.name

    @property
    def cli_flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def form_key(self) -> str:
        return FORM_PREFIX + self.name

    @property
    def help_text(self) -> str:
        """The help with the range or the choices, as the CLI and the form show it."""
        words = f"{self.help[0].upper()}{self.help[1:]}" if self.help else self.label
        if self.domain is not None:
            return (f"{words}. " if words else "") + f"From {self.domain.range_text}."
        return f"{words}." if words else ""


def number(section: str, name: str, label: str, low: float, high: float, integer: bool = False, help: str = "",
           **where: Any) -> Setting:
    """A numeric setting: its Domain carries the label and help too (messages name the setting by its label)."""
    return Setting(section, name, label, help, Domain(label, low, high, integer, help), **where)


# Bounds are what trains sensibly and what the models and the memory take.
SETTINGS: tuple[Setting, ...] = (
    number("data", "image_size", "Image size", 8, 256, True, "pixels per side", fixed=True),
    Setting("data", "channels", "Channels", "1 = grayscale, 3 = RGB (default: the data set's own)", choices=(1, 3),
            fixed=True),
    Setting("data", "shapes_mode", "Shapes", "shapes only: mixed or the tutorial's colored triangles",
            choices=SHAPES_MODES, fixed=True),
    number("data", "num_samples", "Number of images", 1, 200_000, True, "how many shapes to draw", fixed=True),
    number("data", "max_images", "Use at most this many images", 1, 10_000_000, True, fixed=True),
    Setting("model", "arch", "Architecture", "; ".join(f"{k}: {v.description}" for k, v in ARCHS.items()),
            choices=tuple(ARCHS), form=True, fixed=True),
    Setting("train", "loss", "Loss", "; ".join(f"{k}: {v.title}" for k, v in LOSSES.items()),
            choices=tuple(LOSSES), form=True, fixed=True),
    number("model", "depth", "Generator layers (2-D)", 1, 8, True, "hidden layers of the 2-D point MLP's generator; "
           "the other architectures keep their own depth", fixed=True),
    number("model", "width", "Width (base features)", 4, 512, True, "feature count of the convolutional layers",
           form=True, fixed=True),
    number("model", "d_width", "D width (base features)", 0, 512, True, "the discriminator's own feature count "
           "(DCGAN and the 2-D MLP); 0 = the same as Width", form=True, fixed=True),
    Setting("model", "conditional", "Conditional on classes", "class-conditional G and D; needs a labelled data "
            "set (shapes, MNIST, Fashion-MNIST, CIFAR-10)", switch=True, form=True, fixed=True),
    Setting("model", "d_norm", "Critic normalisation", "normalisation in D: auto is BatchNorm, or none for a loss "
            "with the gradient penalty (WGAN-GP), which BatchNorm breaks", choices=D_NORMS, form=True, fixed=True),
    number("model", "latent_dim", "Latent size", 2, 1024, True, "length of the noise vector G starts from",
           form=True, fixed=True),
    number("model", "pack", "Packing (samples per D input)", 1, 8, True, "PacGAN packing: D judges this many "
           "samples at once; 1 = off", form=True, fixed=True),
    number("model", "mbstd", "Minibatch std group", 0, 64, True, "minibatch standard deviation: D sees the spread "
           "of groups of this many inputs; 0 = off", form=True, fixed=True),
    number("model", "cluster_groups", "Cluster-conditioned G", 0, 3, True, "G draws, for each of this many image "
           "groups (stacked MNIST: 3, one a channel; other images: 1), a cluster of the cluster balance's encoder as "
           "often as the data fills it: kinds found without labels, each drawn plainly; 0 = off", fixed=True),
    number("train", "batch_size", "Batch size", 2, 4096, True, "images per step (BatchNorm needs at least 2)",
           form=True, fixed=True),
    number("train", "lr_g", "Learning rate G", 1e-6, 1.0, help="Adam step size of the generator", form=True,
           fixed=True),
    number("train", "lr_d", "Learning rate D", 1e-6, 1.0, help="Adam step size of the discriminator", form=True,
           fixed=True),
    Setting("train", "lr_schedule", "Learning-rate schedule", "constant, or a linear or cosine decay of both "
            "learning rates to 0 over the run's steps", choices=LR_SCHEDULES, form=True),
    number("train", "beta1", "Adam beta1", 0.0, 0.999, form=True, fixed=True),
    number("train", "beta2", "Adam beta2", 0.0, 0.9999, form=True, fixed=True),
    number("train", "steps", "Generator steps", 1, 10_000_000, True, form=True),
    number("train", "epochs", "Epochs", 0.01, 10_000.0, help="passes over the data set", form=True, fixed=True),
    number("train", "real_label", "Real label", 0.0, 1.0, help="0.9 = one-sided label smoothing", form=True,
           fixed=True),
    number("train", "fake_label", "Fake label", 0.0, 1.0, help="0.1 with real 0.9 = two-sided smoothing", form=True,
           fixed=True),
    number("train", "n_critic", "D steps per G step", 1, 20, True, form=True, fixed=True),
    number("train", "gp_lambda", "Gradient penalty weight", 0.0, 1000.0,
           help="weight of the critic's gradient penalty (WGAN-GP; other losses ignore it)", form=True, fixed=True),
    number("train", "r1", "R1 penalty", 0.0, 1000.0, help="gamma of D's zero-centred gradient penalty on real images "
           "(R1, Mescheder et al. 2018): samples settle onto the data instead of circling it; any loss, a D without "
           "BatchNorm; 0 = off", form=True, fixed=True),
    number("train", "r1_every", "R1 every N steps", 1, 64, True, "lazy R1 (StyleGAN2): the penalty on every N-th "
           "step only, weighted N times: about the same training for less compute", fixed=True),
    number("train", "half_res_steps", "Steps at half resolution", 0, 10_000_000, True, "progressive resolution "
           "(ProGAN) for the convolutional nets: G draws and D judges images at half the size for this many steps "
           "first, samples shown upsampled; 0 = off", fixed=True),
    number("train", "fade_steps", "Fade-in steps", 0, 10_000_000, True, "after the half-resolution steps, the "
           "full-resolution layers fade in over this many steps; 0 = a hard switch", fixed=True),
    number("train", "ema", "EMA of G", 0.0, 0.9999, help="decay of the sampling copy of G; 0 = off", form=True,
           fixed=True),
    number("train", "class_weight", "Class loss weight", 0.0, 100.0,
           help="AC-GAN class head of a conditional D; 0 = off", form=True, fixed=True),
    number("train", "feature_matching", "Feature matching weight", 0.0, 1000.0,
           help="G also matches the mean of D's features over real and generated batches (Salimans et al. 2016): "
           "what one sample does not show D, such as how often each kind is drawn; 0 = off", form=True, fixed=True),
    number("train", "cluster_balance", "Cluster balance weight", 0.0, 100.0,
           help="G also draws each kind of image as often as the data holds it: the kinds are clusters that a small "
           "encoder finds in the real images without labels (trained once, about a minute on a CPU, then cached); "
           "0 = off", form=True, fixed=True),
    number("train", "cluster_guidance", "Cluster guidance weight", 0.0, 100.0,
           help="with a cluster-conditioned G: how strongly each image is pulled into the cluster G was asked for",
           fixed=True),
    Setting("train", "augment", "Augment what D sees", "the same random shifts (and cutouts, colour changes) for "
            "real and generated images, e.g. translation,cutout: D overfits a small set later", form=True,
            fixed=True),
    Setting("train", "device", "Device", "auto picks CUDA, then Apple MPS, then CPU", choices=DEVICE_NAMES,
            form=True),
    number("train", "seed", "Random seed", 0, 2**31 - 1, True, form=True, fixed=True),
    number("train", "max_seconds", "Time limit in seconds", 0.01, 1e7, help="stop after this much training time "
           "and save"),
    number("train", "log_every", "Log every N steps", 1, 1_000_000, True),
    number("train", "sample_every", "Sample grid every N steps", 1, 1_000_000, True, form=True),
    number("train", "checkpoint_every", "Checkpoint every N steps", 1, 10_000_000, True, form=True),
    number("train", "quality_every", "Quality score every N steps", 0, 10_000_000, True, "0 = off"),
    number("train", "num_fixed", "Fixed-noise samples per grid", 1, 1024, True),
    Setting("train", "amp", "Mixed precision (bf16)", "bf16 where it is faster: GPUs with bf16, and CPUs with bf16 "
            "instructions where a short test at the start measures it faster than 32-bit; weights stay 32-bit "
            "(off: fp32)", switch=True, form=True),
    Setting("train", "compile", "Compile", "CUDA only: torch.compile G and D", switch=True),
    Setting("train", "channels_last", "Channels last", "CUDA only: NHWC memory format", switch=True),
    Setting("train", "sync_bn", "Synchronised BatchNorm", "under torchrun on CUDA: BatchNorm statistics over all "
            "processes' batches (default on)", switch=True),
)
BY_KEY: dict[tuple[str, str], Setting] = {s.key: s for s in SETTINGS}
# (section, field) -> domain of every numeric setting: RunConfig.validate, the CLI and the form read these.
DOMAINS: dict[tuple[str, str], Domain] = {s.key: s.domain for s in SETTINGS if s.domain is not None}


def setting(section: str, name: str) -> Setting:
    return BY_KEY[(section, name)]


def domain(section: str, name: str) -> Domain:
    return DOMAINS[(section, name)]


def check_section(section: str, obj: Any) -> None:
    """Check every field of a config section that has a domain; None is allowed where the field is optional."""
    for (sec, name), dom in DOMAINS.items():
        if sec == section and hasattr(obj, name):
            value = getattr(obj, name)
            if value is not None:
                dom.check(f"{section}.{name}", value)


def form_settings() -> list[Setting]:
    """The Train form's settings, in the form's order."""
    return [s for s in SETTINGS if s.form]
