"""Whether a data set's files are on this machine, found without reading them: recipes say so before Start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..catalog import DATASETS
from ..config import DataConfig
from .celeba import find_celeba
from .cifar10 import FOLDER as CIFAR_FOLDER
from .cifar10 import find_batches
from .mnist import FASHION, MNIST, find_split
from .sources import search_dirs

TITLES = {name: spec.title for name, spec in DATASETS.items()}


@dataclass(frozen=True)
class Availability:
    """present: the files were found (or need none); where: the file or folder found; sentence: plain words."""

    present: bool
    sentence: str
    where: Path | None = None


# The catalog's finders (DatasetSpec.finder): where each set's files are here, or None.
def _idx_split(cfg: DataConfig, subdirs: tuple[str, ...]) -> Path | None:
    dirs = search_dirs(cfg, subdirs)
    pair = find_split(dirs, "train") or find_split(dirs, "test")
    return pair[0].parent if pair else None


def find_mnist(cfg: DataConfig) -> Path | None:
    return _idx_split(cfg, MNIST.subdirs)


def find_fashion_mnist(cfg: DataConfig) -> Path | None:
    return _idx_split(cfg, FASHION.subdirs)


def find_cifar10(cfg: DataConfig) -> Path | None:
    batches = find_batches(search_dirs(cfg, (CIFAR_FOLDER,)))
    return batches[0][0].parent if batches else None


def find_celeba_files(cfg: DataConfig) -> Path | None:
    return find_celeba(cfg.data_dir)


def find_folder(cfg: DataConfig) -> Path | None:
    path = Path(cfg.data_dir).expanduser() if cfg.data_dir else None  # the user's folder or .zip
    return path if path is not None and path.exists() else None


def availability(cfg: DataConfig) -> Availability:
    """Whether cfg's images can be loaded without the network, in a sentence for the Train page."""
    spec = DATASETS[cfg.name]
    title = spec.title
    if spec.points:
        return Availability(True, f"The {title} points are drawn on this machine: always available.")
    if spec.finder is None:
        return Availability(True, f"{title} are drawn on this machine: always available.")
    if cfg.data_dir and not Path(cfg.data_dir).expanduser().exists():
        return Availability(False, f"The folder chosen for {title} ({cfg.data_dir}) is gone: choose the images "
                                   "again on the Data page.")
    where = spec.find(cfg)
    if where is not None:
        # The folder the user chose is already named with the data set; a find in the data folder is named here.
        verb = "are" if title.endswith("images") else "is"  # "Your own images are on this machine"
        return Availability(True, f"{title} {verb} on this machine" + ("." if cfg.data_dir else f" ({where})."), where)
    if spec.user_files:
        return Availability(False, f"{title}: no images chosen yet. Choose a folder or upload them on the Data page.")
    if cfg.download and spec.downloads:
        return Availability(False, f"{title} is not on this machine yet: Start will try to download it, which needs "
                                   "the internet. Without it, put its files in a folder and choose that folder for "
                                   f"{title} on the Data page.")
    return Availability(False, f"{title} is not on this machine and downloading is off: put its files in a folder and "
                               f"choose that folder for {title} on the Data page.")
