"""The user's own images from a folder or a .zip: decoded with an allowlist of formats, cropped square, resized."""

from __future__ import annotations

import os
import struct
import tempfile
import warnings
import zipfile
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..config import DataConfig
from ..errors import DataError
from .base import ImageData, Progress, nearest_size
from .uploads import (
    MAX_ZIP_ENTRIES,
    ZipReport,
    extract_zip,
    save_uploads,
    upload_label,
    upload_names,
    upload_refused,
)

# Pillow format ids; the file's content picks the decoder, never its name, so a TIFF called x.png is refused.
FORMATS = ["PNG", "JPEG", "WEBP", "BMP", "GIF"]
SUPPORTED_TEXT = "png, jpg, webp, bmp, gif"
MAX_PIXELS = 64_000_000  # larger images are refused before decoding (decompression bombs)
DEFAULT_SIZE = 64  # when no image can tell its own size (and CelebA's default)
GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}  # one band (+ alpha): greyscale
NATIVE_SAMPLE = 256  # files whose headers decide the native shape of a folder

# Magic bytes of formats people often have, so a refusal can name the format instead of "not an image".
_SIGNATURES = [
    (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"8BPS", "PSD"), (b"%PDF", "PDF"), (b"\x00\x00\x01\x00", "ICO"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"), (b"\xffO\xffQ", "JPEG 2000"), (b"qoif", "QOI"), (b"DDS ", "DDS"),
]


class _Skip(Exception):
    """A file that is not a usable image; the message is the reason shown to the user."""


def _sniff(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(32)
    for magic, name in _SIGNATURES:
        if head.startswith(magic):
            return f"unsupported format ({name})"
    if head[4:8] == b"ftyp":  # HEIC/AVIF (ISO media)
        return "unsupported format (HEIC/AVIF)"
    if head.lstrip().startswith((b"<svg", b"<?xml")):
        return "unsupported format (SVG)"
    return "not an image"


def _open(path: Path) -> Image.Image:
    if path.stat().st_size == 0:
        raise _Skip("empty file")
    try:
        # Pillow warns above Image.MAX_IMAGE_PIXELS and raises above twice that; both mean "bomb" here.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path, formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _Skip("too large (decompression bomb)") from exc
    except UnidentifiedImageError as exc:
        raise _Skip(_sniff(path)) from exc
    if im.width * im.height > MAX_PIXELS:
        im.close()
        raise _Skip(f"too large ({im.width}x{im.height} pixels)")
    return im


def _pixels(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> 'L' or 'RGB' (uint8): alpha composited on black, 16/32-bit and float scaled to 8 bits."""
    mode = im.mode
    if mode in ("L", "RGB") and "transparency" not in im.info:
        return im
    if mode == "1":
        return im.convert("L")
    if mode.startswith("I;16"):  # 16-bit: 65535 -> 255 (the / 257 maps the range exactly)
        a = np.asarray(im).astype(np.float32) / 257.0
        return Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8), "L")
    if mode in ("I", "F"):
        a = np.asarray(im).astype(np.float32)
        peak = float(a.max()) if a.size else 0.0
        # No range is stored in these modes: guess it from the data (16-bit, 8-bit, or float in [0, 1]).
        scale = 1 / 257.0 if peak > 255 else (255.0 if mode == "F" and peak <= 1.0 else 1.0)
        return Image.fromarray(np.clip(np.round(a * scale), 0, 255).astype(np.uint8), "L")
    # P (GIF, PNG palettes) and L/RGB PNGs may carry a transparent color in info instead of an alpha band.
    has_alpha = "A" in im.getbands() or "a" in im.getbands() or "transparency" in im.info
    if not has_alpha:
        try:
            return im.convert("RGB")  # P, CMYK, YCbCr, RGBX, HSV...
        except ValueError as exc:  # e.g. LAB: Pillow has no direct conversion
            raise _Skip(f"unsupported color mode ({mode})") from exc
    gray = mode in ("LA", "La")
    rgba = np.asarray(im.convert("LA" if gray else "RGBA")).astype(np.float32)
    color, alpha = rgba[..., :-1], rgba[..., -1:] / 255.0
    out = np.clip(np.round(color * alpha), 0, 255).astype(np.uint8)  # over black
    return Image.fromarray(out[..., 0] if gray else out, "L" if gray else "RGB")


def _square_box(w: int, h: int) -> tuple[float, float, float, float]:
    side = min(w, h)
    left, top = (w - side) / 2, (h - side) / 2
    return left, top, left + side, top + side


def decode_image(path: Path, size: int, channels: int) -> np.ndarray:
    """One file -> uint8 channels x size x size: center square crop, then Lanczos resize."""
    im = _open(path)
    try:
        im.seek(0)  # animated GIF/WebP: the first frame
        if im.format == "JPEG":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the crop still has >= size pixels: much faster.
            factor = min(im.size) / size
            if factor >= 2:
                im.draft(im.mode, (int(im.width / factor) + 1, int(im.height / factor) + 1))
        im.load()
        flat = _pixels(im)  # a new image (or im itself); im stays the one whose file the finally closes
        out = flat.resize((size, size), Image.Resampling.LANCZOS, box=_square_box(*flat.size), reducing_gap=3.0)
        if channels == 1 and out.mode != "L":
            out = out.convert("L")  # ITU-R 601 luma, as base.conform
        arr = np.asarray(out, dtype=np.uint8)
        arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
        if channels == 3 and arr.shape[0] == 1:
            arr = np.repeat(arr, 3, axis=0)
        return arr
    except _Skip:
        raise
    except Image.DecompressionBombError as exc:
        raise _Skip("too large (decompression bomb)") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error) as exc:
        # Pillow reports cut-off and damaged data as OSError ("image file is truncated"), others as these.
        raise _Skip(f"truncated or corrupt ({exc})") from exc
    finally:
        im.close()


def list_files(path: Path) -> list[Path]:
    """All files under path, sorted (stable order), without hidden files and macOS metadata folders."""
    found = []
    for folder, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
        found.extend(Path(folder) / n for n in sorted(names) if not n.startswith("."))
    return found


def scan_images(
    path: str | Path,
    size: int,
    channels: int,
    *,
    limit: int | None = None,
    progress: Progress | None = None,
) -> tuple[torch.Tensor, list[tuple[str, str]]]:
    """Decode every usable image under path (recursive) to uint8 N x channels x size x size.

    Returns the images and the skipped files as (path relative to the folder, reason). Stops after
    limit usable images when limit is given.
    """
    root = Path(path)
    files = list_files(root)
    cap = len(files) if limit is None else min(limit, len(files))
    out = np.empty((cap, channels, size, size), dtype=np.uint8)
    skipped: list[tuple[str, str]] = []
    count = 0
    every = max(1, len(files) // 100)
    for i, file in enumerate(files):
        if count >= cap:
            break
        if progress is not None and i % every == 0:
            progress(i / max(1, len(files)), f"Reading images {i:,}/{len(files):,} ({len(skipped)} skipped)")
        try:
            out[count] = decode_image(file, size, channels)
            count += 1
        except _Skip as exc:
            skipped.append((str(file.relative_to(root)), str(exc)))
        except OSError as exc:  # unreadable file (permissions, vanished while scanning)
            skipped.append((str(file.relative_to(root)), f"unreadable ({exc.strerror or exc})"))
    return torch.from_numpy(out[:count]).contiguous(), skipped


def skip_summary(skipped: list[tuple[str, str]], total: int) -> str:
    """'Skipped 3 of 40 files: 2 not an image, 1 truncated or corrupt'."""
    kinds = Counter(reason.split(" (")[0] for _, reason in skipped)
    parts = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
    return f"Skipped {len(skipped)} of {total} files: {parts}"


def refused_summary(refused: list[tuple[str, str]]) -> str:
    """'3 unsafe zip members dropped: ../../evil.png (path leaves the folder (..)); /etc/x.png (absolute path); ...'."""
    shown = "; ".join(f"{name} ({why})" for name, why in refused[:10])
    more = f" and {len(refused) - 10} more" if len(refused) > 10 else ""
    return f"{len(refused)} unsafe zip member{'s' if len(refused) != 1 else ''} dropped: {shown}{more}"


def native_shape(files: list[Path]) -> tuple[int, int, int | None]:
    """(size, channels, side) of the images: side is their median shorter side (None: no image), size that side
    rounded to a supported size (base.nearest_size), channels 1 when every image is greyscale, else 3.
    Reads headers only, of at most NATIVE_SAMPLE files."""
    sides, gray = [], True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # a header read decodes nothing
        for file in files[:: max(1, len(files) // NATIVE_SAMPLE)]:
            try:
                with Image.open(file, formats=FORMATS) as im:
                    sides.append(min(im.size))
                    gray = gray and im.mode in GRAY_MODES
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
                continue  # not an image: the scan reports it
    if not sides:
        return DEFAULT_SIZE, 3, None
    side = sorted(sides)[(len(sides) - 1) // 2]  # the lower median: a side some image has (28 and 48 is not 38)
    return nearest_size(side), 1 if gray else 3, side


def read_image_source(
    path: str | Path,
    size: int | None,
    channels: int | None,
    *,
    limit: int | None = None,
    progress: Progress | None = None,
    max_entries: int = MAX_ZIP_ENTRIES,
) -> tuple[torch.Tensor, list[str]]:
    """Images from a folder or a .zip (unpacked safely into a temporary folder) plus notices for the user.

    size or channels None: the images' own (native_shape). Messages name an upload by its files (upload_label),
    a zip by its name, never a temporary folder.
    """
    source = Path(path).expanduser()
    if not source.exists():
        raise DataError(f"{source} does not exist: choose an existing folder of images or a .zip file.")
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise DataError(f"{source} is a file but not a .zip archive: choose a folder of images or a .zip file.")
        with tempfile.TemporaryDirectory(prefix="gan-workbench-zip-") as tmp:
            if progress is not None:
                progress(0.0, f"Unpacking {source.name}")
            report = extract_zip(source, tmp, max_entries=max_entries)
            return _read_folder(Path(tmp), str(source), True, size, channels, limit, progress, report.refused)
    names = upload_names(source)
    only_zips = bool(names) and all(n.lower().endswith(".zip") for n in names)
    return _read_folder(source, upload_label(source) or str(source), only_zips, size, channels, limit, progress,
                        upload_refused(source))


def _read_folder(folder: Path, shown: str, from_zip: bool, size: int | None, channels: int | None,
                 limit: int | None, progress: Progress | None,
                 refused: list[tuple[str, str]]) -> tuple[torch.Tensor, list[str]]:
    """refused: the zip members not unpacked (unsafe), said first: beside the count of images loaded."""
    notices = [refused_summary(refused) + "."] if refused else []
    if size is None or channels is None:
        native_size, native_channels, side = native_shape(list_files(folder))
        if size is None and side is not None and side != native_size:
            notices.append(f"The images are {side} pixels on their shorter side: loaded at {native_size} x "
                           f"{native_size}, the nearest size the models support.")
        size, channels = size or native_size, channels or native_channels
    images, skipped = scan_images(folder, size, channels, limit=limit, progress=progress)
    total = len(images) + len(skipped)
    if len(images) == 0:
        if not skipped and refused:  # not "has no images": it had some, all refused
            raise DataError(f"No usable images in {shown}: every member of the zip was unsafe, so none was unpacked "
                            f"({refused_summary(refused)}). Re-create the zip with the images under plain relative "
                            "names (no '..', no absolute paths, no links).")
        if not skipped:
            detail = "the zip file has no images" if from_zip else "the folder has no files"
        else:
            detail = skip_summary(skipped, total) + " (" + "; ".join(f"{n}: {r}" for n, r in skipped[:5]) + ")"
        raise DataError(f"No usable images in {shown}: {detail}. Supported: {SUPPORTED_TEXT}; add such images or "
                        "choose another folder.")
    if skipped:
        notices.append(skip_summary(skipped, total) + ".")
        notices.extend(f"Skipped {name}: {reason}" for name, reason in skipped)
    return images, notices


def load_folder(cfg: DataConfig, progress: Progress | None = None) -> ImageData:
    """Every usable image in cfg.data_dir (folder, recursive, or .zip), square; size and channels None: native."""
    if not cfg.data_dir:
        raise DataError("No images chosen yet for 'Your own images': upload them, or name a folder or .zip.",
                        cli="The 'folder' data set needs a folder or .zip: set --data-dir.")
    images, notices = read_image_source(cfg.data_dir, cfg.image_size, cfg.channels, limit=cfg.max_images,
                                        progress=progress)
    return ImageData(images, None, None, "folder", notices)


__all__ = ["FORMATS", "MAX_PIXELS", "ZipReport", "decode_image", "extract_zip", "load_folder", "read_image_source",
           "native_shape", "save_uploads", "scan_images", "skip_summary"]
