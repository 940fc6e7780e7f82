"""One record per loss, architecture and data set: its name, title, builder and flags; every list derives from these.

The builders are named as 'module:attribute' inside gan_core and imported on first use, so this module sits at the
bottom (config, limits, device and runtime read the flags) while the builders live in the layers above it.
A new loss, architecture or data set is one record here plus its builder (see docs/extending.md).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


def resolve(ref: str) -> Any:
    """The object a 'module:attribute' reference inside gan_core names (e.g. 'models.mlp:build_mlp')."""
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(f"gan_core.{module}"), attr)


@dataclass(frozen=True)
class LossSpec:
    """A GAN loss: `builder` names a losses.Loss (d and g loss from logits)."""

    name: str
    title: str
    description: str
    builder: str
    needs_gp: bool = False  # the critic's gradient penalty (weight train.gp_lambda); refuses a BatchNorm critic
    critic: bool = False  # D's output is a raw score, not a logit: no sigmoid for the D(x)/D(G(z)) metrics

    @property
    def loss(self) -> Any:
        return resolve(self.builder)


@dataclass(frozen=True)
class ArchSpec:
    """A generator/discriminator pair: `builder(name, image_shape, g_in, width, d_norm, pack)` -> (G net, D body,
    D feat); pack: D judges that many samples at once (its input has pack x C channels)."""

    name: str
    title: str
    description: str
    builder: str
    mlp: bool = False  # fully connected: its own memory rule, NCHW layout, one CPU thread
    points: bool = False  # draws 2-D points: the only architecture for the point sets, and only for them
    d_width: bool = False  # its builder takes D's own width (model.d_width) beside G's

    @property
    def build(self) -> Any:
        return resolve(self.builder)


@dataclass(frozen=True)
class DatasetSpec:
    """A data set: `loader(cfg, progress)` -> ImageData; `finder(cfg)` -> where its files are here, without reading."""

    name: str
    title: str
    description: str
    loader: str
    finder: str | None = None  # None: needs no files (drawn here)
    labelled: bool = True  # has class labels (conditional models, the class loss, the recognition score)
    user_files: bool = False  # the user's own folder or .zip is required (no download)
    downloads: bool = False  # torchvision can download it
    menu: str = ""  # the Data page's menu entry, when it says more than the title
    points: bool = False  # 2-D points (N x 2 x 1 x 1), not images: no size or channels; the points architecture

    @property
    def label(self) -> str:
        return self.menu or self.title

    @property
    def load(self) -> Any:
        return resolve(self.loader)

    @property
    def find(self) -> Any:
        return resolve(self.finder) if self.finder else None

    @property
    def default_preset(self) -> str:
        """The tuned default recipe (presets.PRESETS has one per data set: a test pins it)."""
        return f"{self.name}-default"


LOSSES: dict[str, LossSpec] = {spec.name: spec for spec in (
    LossSpec("bce", "BCE (non-saturating)", "Minimax BCE for D, non-saturating BCE for G (the classic GAN); supports "
             "label smoothing.", "train.losses:BCE"),
    LossSpec("wgan-gp", "WGAN-GP", "Wasserstein critic with gradient penalty (lambda 10, n_critic steps); no "
             "BatchNorm in the critic.", "train.losses:WASSERSTEIN", needs_gp=True, critic=True),
    LossSpec("hinge", "Hinge", "Hinge loss (as in SAGAN/BigGAN): D max(0, 1 - D(x)) + max(0, 1 + D(G(z))), "
             "G -D(G(z)).", "train.losses:HINGE"),
    LossSpec("lsgan", "Least squares", "Least squares GAN: D (D(x) - 1)^2 + D(G(z))^2, G (D(G(z)) - 1)^2.",
             "train.losses:LEAST_SQUARES"),
)}

ARCHS: dict[str, ArchSpec] = {spec.name: spec for spec in (
    ArchSpec("mlp-small", "Small MLP", "Small MLP (MNIST tutorial): noise 32 -> 128 -> pixels; D pixels -> 64 -> 1.",
             "models.mlp:build_mlp", mlp=True),
    ArchSpec("mlp", "MLP", "MLP (colored-triangles tutorial): noise 100 -> 256 -> pixels; D pixels -> 256 -> 1.",
             "models.mlp:build_mlp", mlp=True),
    ArchSpec("mlp-deep", "Deep MLP", "Deep MLP (MNIST tutorial): G 256-512-1024, D 2048-1024-512-256 with dropout "
             "0.3.", "models.mlp:build_mlp", mlp=True),
    ArchSpec("upsample-conv", "Upsample + conv", "Upsample + 3x3 conv generator, strided-conv D with dropout "
             "(CIFAR-10 tutorial).", "models.conv:build_upsample_conv"),
    ArchSpec("dcgan", "DCGAN", "DCGAN: transposed-conv G with BatchNorm/ReLU, conv D with LeakyReLU 0.2; width "
             "option.", "models.conv:build_dcgan", d_width=True),
    ArchSpec("mlp-2d", "2-D point MLP", "2-D point MLP (ring, grid, spiral, moons): G of `depth` and D of 3 hidden "
             "layers of `width` units.", "models.mlp:build_mlp2d", mlp=True, points=True, d_width=True),
)}

DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (
    DatasetSpec("shapes", "Shapes", "Synthetic triangles, squares and circles drawn locally; needs no network "
                "(default).", "data.shapes:load_shapes", menu="Shapes (synthetic, no download)"),
    DatasetSpec("mnist", "MNIST", "Handwritten digits 0-9, 28 x 28 grayscale, 10 classes (local IDX files or "
                "download).", "data.mnist:load_mnist", "data.available:find_mnist", downloads=True,
                menu="MNIST digits"),
    DatasetSpec("fashion_mnist", "Fashion-MNIST", "Clothing in 10 classes, 28 x 28 grayscale (local IDX files or "
                "download).", "data.mnist:load_fashion_mnist", "data.available:find_fashion_mnist", downloads=True),
    DatasetSpec("cifar10", "CIFAR-10", "Small color photos in 10 classes, 32 x 32 RGB (local python batches or "
                "download).", "data.cifar10:load_cifar10", "data.available:find_cifar10", downloads=True),
    DatasetSpec("celeba", "CelebA", "Celebrity faces, cropped square, 64 x 64 RGB by default (local folder or "
                "img_align_celeba.zip).", "data.celeba:load_celeba", "data.available:find_celeba_files",
                labelled=False, user_files=True, menu="CelebA faces"),
    DatasetSpec("folder", "Your own images", "Your own images from a folder or .zip (png, jpg, webp, bmp, gif), "
                "cropped square.", "data.folder:load_folder", "data.available:find_folder",
                labelled=False, user_files=True),
    DatasetSpec("stacked_mnist", "Stacked MNIST", "Three MNIST digits as R, G and B: 1,000 modes (VEEGAN/PacGAN), "
                "built from the MNIST files.", "data.stacked:load_stacked_mnist", "data.available:find_mnist",
                downloads=True, menu="Stacked MNIST (1,000 modes)"),
    DatasetSpec("ring", "2-D ring", "2-D points: 8 Gaussians on the unit circle, std 0.01 (PacGAN's 2D-ring).",
                "data.points:load_points", points=True, menu="2-D ring (8 modes)"),
    DatasetSpec("grid", "2-D grid", "2-D points: 25 Gaussians on {-4, -2, 0, 2, 4}^2, std 0.05 (PacGAN's 2D-grid).",
                "data.points:load_points", points=True, menu="2-D grid (25 modes)"),
    DatasetSpec("spiral", "2-D spiral", "2-D points: two interleaved spiral arms (playground demo).",
                "data.points:load_points", points=True),
    DatasetSpec("moons", "2-D moons", "2-D points: two interleaving half circles (playground demo).",
                "data.points:load_points", points=True),
)}
# The 2-D point sets and the one architecture that draws them.
POINT_DATASETS: tuple[str, ...] = tuple(n for n, spec in DATASETS.items() if spec.points)
POINT_ARCH: str = next(n for n, spec in ARCHS.items() if spec.points)


def loss_spec(name: str) -> LossSpec:
    return LOSSES[name]


def arch_spec(name: str) -> ArchSpec:
    return ARCHS[name]


def dataset_spec(name: str) -> DatasetSpec:
    return DATASETS[name]
