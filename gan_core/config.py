"""Run configuration as dataclasses, with validation, dict round-trips and the named recipe presets."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from .catalog import ARCHS, DATASETS, LOSSES, POINT_ARCH, POINT_DATASETS
from .errors import ConfigError
from .settings import D_NORMS, DEVICE_NAMES, LR_SCHEDULES, SHAPES_MODES, check_section

# The names come from the catalog's records (one per data set, architecture and loss).
DATASET_NAMES = tuple(DATASETS)
ARCH_NAMES = tuple(ARCHS)
LOSS_NAMES = tuple(LOSSES)
UNLABELED_DATASETS = tuple(n for n, spec in DATASETS.items() if not spec.labelled)  # no conditional models on these
AUGMENTS = ("translation", "cutout", "color")  # DiffAugment operations (augment.py)


def parse_policy(policy: str) -> tuple[str, ...]:
    """'translation,cutout' -> ('translation', 'cutout'); '' -> (); unknown names raise ValueError."""
    names = tuple(p.strip() for p in policy.split(",") if p.strip())
    unknown = [n for n in names if n not in AUGMENTS]
    if unknown:
        raise ValueError(f"unknown augmentation {', '.join(unknown)}; known: {', '.join(AUGMENTS)}")
    return names


@dataclass
class DataConfig:
    """Which images to train on and how to shape them."""

    name: str = "shapes"
    data_dir: str | None = None  # local files (IDX, CIFAR batches, image folder or .zip)
    image_size: int | None = None  # None: the set's native size
    channels: int | None = None  # None: native; 1 = grayscale, 3 = RGB
    download: bool = True  # torchvision sets: try the network when no local files are found
    shapes_mode: str = "mixed"  # shapes only: "triangles" (classic colored triangles) or "mixed"
    num_samples: int = 10000  # shapes, stacked MNIST and the 2-D point sets: how many to draw
    max_images: int | None = None  # cap on images kept (None: all)
    seed: int = 0

    def validate(self) -> None:
        _choice("data.name", self.name, DATASET_NAMES)
        _choice("data.shapes_mode", self.shapes_mode, SHAPES_MODES)
        check_section("data", self)  # image_size, num_samples, max_images (None: native size, all images)
        if self.channels not in (None, 1, 3):
            raise ConfigError(f"data.channels must be 1 (grayscale) or 3 (RGB), got {self.channels}.")
        if DATASETS[self.name].points and (self.image_size is not None or self.channels is not None):
            raise ConfigError(f"'{self.name}' is a set of 2-D points: it has no image size or channels; leave them "
                              "unset.")
        if DATASETS[self.name].user_files and not self.data_dir:
            title = DATASETS[self.name].label
            raise ConfigError(f"No images chosen yet for '{title}': upload them, or name a folder or .zip.",
                              cli=f"The '{self.name}' data set needs a folder or .zip: set --data-dir.")


@dataclass
class ModelConfig:
    """Which generator/discriminator pair to build."""

    arch: str = "dcgan"
    latent_dim: int = 100
    width: int = 64  # base feature count (dcgan: features of the widest-resolution layer)
    d_width: int = 0  # D's own base feature count where the architecture allows it (dcgan, mlp-2d); 0 = width
    conditional: bool = False  # class-conditional G and D (labeled data sets only)
    d_norm: str = "auto"  # "auto" (batch, or none for wgan-gp or R1), "batch", "layer", "none"
    pack: int = 1  # PacGAN packing: D judges this many samples at once, concatenated along channels (1 = off)
    mbstd: int = 0  # minibatch standard deviation: D sees the feature spread over groups of this many inputs (0 = off)
    depth: int = 3  # hidden layers of the 2-D point MLP's G (mlp-2d; 3 before there was a choice, so old runs load)
    # A G conditioned on unlabelled kinds (models/clustered.py): its latent picks a cluster of the cluster balance's
    # encoder for each of this many image groups (stacked MNIST: 3, one a channel; other images: 1; 0 = off).
    cluster_groups: int = 0

    def validate(self) -> None:
        _choice("model.arch", self.arch, ARCH_NAMES)
        _choice("model.d_norm", self.d_norm, D_NORMS)
        check_section("model", self)
        if self.d_width and not ARCHS[self.arch].d_width:
            own = ", ".join(name for name, spec in ARCHS.items() if spec.d_width)
            raise ConfigError(f"model.d_width: the '{self.arch}' architecture's discriminator has sizes of its own; "
                              f"a separate D width applies to {own} only (leave it 0).")


@dataclass
class TrainConfig:
    """Loss, optimizers, schedule, device and bookkeeping intervals."""

    loss: str = "bce"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    batch_size: int = 64
    steps: int | None = 2000  # total generator steps; used when epochs is None
    epochs: float | None = None  # passes over the data set; overrides steps when set
    real_label: float = 1.0  # 0.9 = one-sided label smoothing
    fake_label: float = 0.0  # 0.1 with real 0.9 = two-sided smoothing
    lr_schedule: str = "constant"  # "linear" or "cosine": both learning rates decay to 0 over the run's steps
    n_critic: int = 1  # D updates per G update
    gp_lambda: float = 10.0
    r1: float = 0.0  # R1: gamma of D's zero-centred gradient penalty at real images, gamma/2 E||grad D||^2 (0 = off)
    r1_every: int = 1  # lazy R1 (StyleGAN2): the penalty on every N-th step only, weighted N times
    half_res_steps: int = 0  # progressive resolution: steps at half resolution first (conv nets; 0 = off)
    fade_steps: int = 0  # then the full-resolution layers fade in over this many steps (0 = a hard switch)
    ema: float = 0.0  # EMA decay of G for sampling (0 = off); ramped up over the first steps (ema.EMA)
    class_weight: float = 0.0  # AC-GAN: weight of the class loss of D's class head (conditional models; 0 = off)
    # Feature matching (Salimans et al. 2016): weight of G's extra loss, the mean squared distance between the mean of
    # D's last features over the real batch and over the generated one (0 = off).
    feature_matching: float = 0.0
    # Cluster balance (train/balance.py): weight of G's extra loss that draws each k-means cluster of a self-supervised
    # encoder's features as often as the real images fill it (0 = off).
    cluster_balance: float = 0.0
    # With a cluster-conditioned G (model.cluster_groups): weight of G's extra loss, the cross-entropy between the
    # encoder's cluster of each group it drew and the cluster its latent picked.
    cluster_guidance: float = 1.0
    augment: str = ""  # what D sees is augmented alike for real and fake (config.AUGMENTS), e.g. "translation"
    device: str = "auto"
    seed: int = 0
    max_seconds: float | None = None  # stop after this much training time and save
    log_every: int = 10  # steps between host syncs of the metrics
    sample_every: int = 200  # steps between fixed-noise grids
    checkpoint_every: int = 1000  # steps between checkpoints
    quality_every: int = 500  # steps between quality scores (0 = off)
    num_fixed: int = 64  # fixed-noise samples per grid
    compile: bool = False  # torch.compile G and D (CUDA)
    amp: bool = True  # bf16 mixed precision where it is faster (CUDA with bf16; CPUs: device.fast_bf16)
    channels_last: bool = False  # NHWC memory format (CUDA)
    sync_bn: bool = True  # under torchrun on CUDA: BatchNorm statistics over all processes' batches (SyncBatchNorm)

    def validate(self) -> None:
        _choice("train.loss", self.loss, LOSS_NAMES)
        _choice("train.device", self.device, DEVICE_NAMES)
        _choice("train.lr_schedule", self.lr_schedule, LR_SCHEDULES)
        if self.steps is None and self.epochs is None:
            raise ConfigError("Set either steps or epochs.")
        # Every number against its domain (settings.DOMAINS); unused steps (epochs set) are not checked.
        check_section("train", dataclasses.replace(self, steps=None) if self.epochs is not None else self)
        try:
            parse_policy(self.augment)
        except (ValueError, AttributeError) as e:
            raise ConfigError(f"train.augment: {e}. Use a comma-separated list, or nothing for no augmentation.") from e


@dataclass
class RunConfig:
    """Everything that defines a run; stored in every checkpoint as a plain dict."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    preset: str | None = None

    def validate(self) -> RunConfig:
        self.data.validate()
        self.model.validate()
        self.train.validate()
        if self.model.conditional and self.data.name in UNLABELED_DATASETS:
            raise ConfigError(f"A conditional model needs class labels; '{self.data.name}' has none.")
        if self.train.class_weight and not self.model.conditional:
            raise ConfigError("A class loss (train.class_weight) needs a conditional model: turn on model.conditional "
                              "on a labelled data set, or set the class weight to 0.")
        self._check_d_options()
        self._check_progressive()
        points = DATASETS[self.data.name].points
        if points != (self.model.arch == POINT_ARCH):
            raise ConfigError(f"2-D point sets ({', '.join(POINT_DATASETS)}) train with the '{POINT_ARCH}' "
                              f"architecture and only they do: choose '{POINT_ARCH}' for '{self.data.name}'."
                              if points else f"The '{POINT_ARCH}' architecture draws 2-D points: choose a point set "
                              f"({', '.join(POINT_DATASETS)}) or another architecture for '{self.data.name}'.")
        if points and (self.train.cluster_balance or self.model.cluster_groups):
            raise ConfigError("Cluster balance and cluster-conditioned G are for images: set the balance's weight and "
                              "model.cluster_groups to 0 for a 2-D point set.")
        if self.model.cluster_groups and self.model.conditional:
            raise ConfigError("A G is conditioned on class labels or on clusters, not both: turn off model.conditional "
                              "or set model.cluster_groups to 0.")
        groups = 3 if self.data.name == "stacked_mnist" and self.data.channels in (None, 3) else 1  # balance.py's
        if self.model.cluster_groups not in (0, groups) and not points:
            raise ConfigError(f"model.cluster_groups must be {groups} for this data set (stacked MNIST in colour: 3, "
                              "one a channel; other images: 1), or 0 for off.")
        if LOSSES[self.train.loss].needs_gp and self.model.d_norm == "batch":
            # BatchNorm mixes the samples of a batch, so the per-sample gradient penalty no longer holds.
            title = LOSSES[self.train.loss].title
            raise ConfigError(f"{title} needs a critic without BatchNorm: set model.d_norm to 'auto', 'layer' or "
                              "'none', or choose another loss.")
        if self.train.r1 and self.model.d_norm == "batch":
            raise ConfigError("The R1 penalty needs a D without BatchNorm (its gradient is per image): set "
                              "model.d_norm to 'auto', 'layer' or 'none', or the R1 weight to 0.")
        return self

    def _check_d_options(self) -> None:
        """Packing and minibatch std group whole batches: real and fake inputs must never share a pack or a group."""
        m, t = self.model, self.train
        if m.pack > 1 and t.class_weight:
            raise ConfigError("Packing (model.pack) judges several samples at once, so D's class head cannot name "
                              "one class: set pack to 1, or the class weight to 0.")
        if m.mbstd == 1:
            raise ConfigError("A minibatch std group of 1 has no spread to show D: use 2 or more, or 0 for off.")
        if t.batch_size % m.pack:
            raise ConfigError(f"The batch size ({t.batch_size}) must be a multiple of the packing ({m.pack}): choose "
                              f"a batch size such as {m.pack * max(1, t.batch_size // m.pack)}.")
        if m.mbstd > 1 and (t.batch_size // m.pack) % m.mbstd:
            raise ConfigError(f"D's inputs per batch ({t.batch_size // m.pack}: batch size / packing) must be a "
                              f"multiple of the minibatch std group ({m.mbstd}): change the batch size or the group.")

    def _check_progressive(self) -> None:
        """Progressive resolution splits a convolutional net at half the image size."""
        t = self.train
        if t.fade_steps and not t.half_res_steps:
            raise ConfigError("A fade-in (train.fade_steps) follows steps at half resolution: set "
                              "train.half_res_steps too, or the fade-in steps to 0.",
                              cli="A fade-in (--fade-steps) follows steps at half resolution: set --half-res-steps "
                                  "too, or --fade-steps 0.")
        if t.half_res_steps and ARCHS[self.model.arch].mlp:
            raise ConfigError(f"Progressive resolution needs a convolutional architecture ("
                              f"{', '.join(n for n, a in ARCHS.items() if not a.mlp)}): choose one, or set the "
                              "half-resolution steps to 0.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        if not isinstance(d, dict):
            raise ConfigError("A run configuration must be a mapping with 'data', 'model' and 'train'.")
        unknown = set(d) - {"data", "model", "train", "preset"}
        if unknown:
            raise ConfigError(f"Unknown configuration section(s): {', '.join(sorted(unknown))}.")
        cfg = cls(
            data=_section(DataConfig, d.get("data", {}), "data"),
            model=_section(ModelConfig, d.get("model", {}), "model"),
            train=_section(TrainConfig, d.get("train", {}), "train"),
            preset=d.get("preset"),
        )
        return cfg.validate()

    def copy(self) -> RunConfig:
        return RunConfig.from_dict(self.to_dict())


def _section(cls: type, values: Any, name: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"Configuration section '{name}' must be a mapping.")
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(
            f"Unknown {name} setting(s): {', '.join(sorted(unknown))}. Known: {', '.join(sorted(known))}."
        )
    return cls(**values)


def _choice(name: str, value: Any, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ConfigError(f"{name} must be one of {', '.join(options)}; got {value!r}.")
