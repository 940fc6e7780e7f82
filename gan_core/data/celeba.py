"""CelebA aligned faces from a local folder or zip, cropped to the face (178 x 178) and resized; no download."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..config import DataConfig
from ..errors import DataError
from .base import ImageData, Progress, data_root
from .folder import DEFAULT_SIZE, list_files, read_image_source

# Aligned images are 178 x 218; the DCGAN recipes' 178 x 178 face crop is exactly the center square crop
# that the folder reader applies to every image, so the same code serves CelebA and plain folders.
MAX_CELEBA_ENTRIES = 250_000  # img_align_celeba.zip has 202,599 files, above the generic zip cap
ALIGNED = "img_align_celeba"


def _is_zip(path: Path) -> bool:
    return path.is_file() and zipfile.is_zipfile(path)


def find_celeba(data_dir: str | Path | None) -> Path | None:
    """The folder or zip to read, trying torchvision's layout, then img_align_celeba/, then a plain folder."""
    bases = [Path(data_dir).expanduser()] if data_dir else []
    bases.append(data_root())
    for base in bases:
        if _is_zip(base):
            return base
        candidates = (base / "celeba" / ALIGNED, base / ALIGNED,
                      base / "celeba" / f"{ALIGNED}.zip", base / f"{ALIGNED}.zip")
        for candidate in candidates:
            if candidate.is_dir() or _is_zip(candidate):
                return candidate
        # A plain folder of images counts only when the user named it (the data root holds other sets).
        if data_dir and base == bases[0] and base.is_dir() and list_files(base):
            return base
    return None


def load_celeba(cfg: DataConfig, progress: Progress | None = None) -> ImageData:
    """CelebA faces, RGB, square at cfg.image_size or 64, from cfg.data_dir (folder or zip)."""
    source = find_celeba(cfg.data_dir)
    if source is None:
        where = cfg.data_dir or str(data_root())
        get = "download img_align_celeba.zip (CelebA's site or a Kaggle mirror)"
        raise DataError(
            f"No CelebA images found in {where}: {get} and put it (or the folder it unpacks to) in {data_root()}, "
            "or name its folder on the Data page.",
            cli=f"No CelebA images found in {where}: {get} and set --data-dir to the zip or to the folder it unpacks "
            "to.",
        )
    images, notices = read_image_source(
        source, cfg.image_size or DEFAULT_SIZE, cfg.channels or 3, limit=cfg.max_images,
        progress=progress, max_entries=MAX_CELEBA_ENTRIES,
    )
    return ImageData(images, None, None, "celeba", notices)
