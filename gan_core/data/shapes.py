"""Synthetic shapes, drawn locally and deterministically by seed: the embedded default data set."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import torch

from ..config import DataConfig
from ..fileio import save_atomic
from .base import SHAPES_CACHE, ImageData, Progress, data_root

SHAPE_NAMES = ["triangle", "square", "circle"]
TRIANGLE_COLORS = ["red", "green", "blue"]
TRIANGLE, SQUARE, CIRCLE = range(3)
_SS = 2  # supersampling factor for anti-aliased edges
RENDER_VERSION = "r1"  # part of the cache file name: bump when the drawing changes
# Any drawing this module ever cached (cache_path's names, .npz before torch files); temp files do not match.
DRAWING_NAME = re.compile(r"[a-z]+-\d+px-\d+-seed\d+-(?P<version>r\d+)\.(?P<ext>pt|npz)")
_CHUNK = 500  # images drawn at once: 500 x 64 x 64 float64 masks are 16 MB each, cache-friendly enough


def _shape_params(n: int, size: int, mode: str, seed: int) -> dict[str, np.ndarray]:
    """Each image's shape, label, colours, radius, centre and angle, drawn in one seeded stream in a fixed order.

    Drawn one image at a time (about 0.1 s for 10,000) so a seed gives the same set as the per-image renderer of
    earlier versions, bit for bit: cached statistics, figures and checkpoints stay valid."""
    rng = np.random.default_rng(seed)
    s = size * _SS
    kind, label = np.zeros(n, np.int64), np.zeros(n, np.int64)
    color, background = np.zeros((n, 3), np.float32), np.zeros((n, 3), np.float32)
    r, cx, cy, angle = (np.zeros(n) for _ in range(4))  # float64, in supersampled pixels and radians
    eye = np.eye(3, dtype=np.float32) * 255.0
    for i in range(n):
        if mode == "triangles":
            kind[i], label[i] = TRIANGLE, int(rng.integers(3))
            color[i] = eye[label[i]]  # pure red, green or blue on black
        else:
            kind[i] = label[i] = int(rng.integers(3))
            color[i] = rng.uniform(60, 255, 3).astype(np.float32)
            background[i] = rng.uniform(0, 40, 3).astype(np.float32)
        r[i] = rng.uniform(0.22, 0.42) * s
        cx[i], cy[i] = rng.uniform(r[i] * 0.8, s - r[i] * 0.8, 2)
        angle[i] = rng.uniform(0, 2 * np.pi)
    return {"kind": kind, "label": label, "color": color, "background": background, "r": r, "cx": cx, "cy": cy,
            "angle": angle}


def _masks(kind: int, gx: np.ndarray, gy: np.ndarray, r: np.ndarray, cx: np.ndarray, cy: np.ndarray,
           angle: np.ndarray) -> np.ndarray:
    """Boolean masks M x S x S of M shapes of one kind; gx: 1 x 1 x S and gy: 1 x S x 1 pixel centres, the rest M.

    What depends on x only or on y only is computed on M x 1 x S or M x S x 1 and broadcast at the last operation:
    the same float64 values as per-pixel arithmetic, at a fraction of the work."""
    r, cx, cy = r[:, None, None], cx[:, None, None], cy[:, None, None]  # M x 1 x 1
    dx, dy = gx - cx, gy - cy  # M x 1 x S, M x S x 1 (float64)
    if kind == CIRCLE:
        return dx**2 + dy**2 <= (0.8 * r) ** 2
    if kind == SQUARE:
        c, s = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
        u, v = dx * c + dy * s, -dx * s + dy * c  # M x S x S coordinates along the square's sides
        half = r / np.sqrt(2)
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    # Equilateral triangle of circumradius r: inside when on the same side of all three edges.
    a = angle[:, None] + np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3])  # M x 3 corner angles
    xs, ys = cx[:, :, 0] + r[:, :, 0] * np.cos(a), cy[:, :, 0] + r[:, :, 0] * np.sin(a)  # M x 3 corners
    pos = neg = None
    for i in range(3):
        j = (i + 1) % 3
        ex, ey = (xs[:, j] - xs[:, i])[:, None, None], (ys[:, j] - ys[:, i])[:, None, None]
        side = ex * (gy - ys[:, i, None, None]) - ey * (gx - xs[:, i, None, None])  # M x S x S
        pos = side >= 0 if pos is None else pos & (side >= 0)
        neg = side <= 0 if neg is None else neg & (side <= 0)
    return pos | neg


def _coverage(mask: np.ndarray, size: int) -> np.ndarray:
    """Share of each pixel's SS x SS subpixels inside: bool M x S x S -> float32 M x size x size.

    Counts added as uint8 slices (a reduction over two strided axes is several times slower); at most 4, exact."""
    m = mask.view(np.uint8).reshape(len(mask), size, _SS, size, _SS)
    count = m[:, :, 0].astype(np.uint8)  # M x size x size x SS
    for dy in range(1, _SS):
        count += m[:, :, dy]
    total = count[..., 0].copy()
    for dx in range(1, _SS):
        total += count[..., dx]
    return total.astype(np.float32) / _SS**2


def render_shapes(n: int, size: int, mode: str, seed: int,
                  progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw n images (uint8, N x 3 x size x size) and their labels (shape kind, or color for triangles).

    Vectorised over chunks of images and over each kind within a chunk: 10,000 images take well under a second."""
    p = _shape_params(n, size, mode, seed)
    s = size * _SS
    centres = np.arange(s).astype(np.float32) + 0.5  # S supersampled pixel centres
    gx, gy = centres[None, None, :], centres[None, :, None]  # 1 x 1 x S (x), 1 x S x 1 (y)
    out = np.zeros((n, 3, size, size), dtype=np.uint8)
    for start in range(0, n, _CHUNK):
        part = slice(start, min(start + _CHUNK, n))
        kinds = p["kind"][part]
        cover = np.zeros((len(kinds), size, size), np.float32)  # M x H x W share of each pixel inside the shape
        for kind in np.unique(kinds):
            sel = np.flatnonzero(kinds == kind)
            mask = _masks(int(kind), gx, gy, *(p[k][part][sel] for k in ("r", "cx", "cy", "angle")))
            cover[sel] = _coverage(mask, size)
        cover = cover[:, None]  # M x 1 x H x W
        img = p["background"][part, :, None, None] * (1 - cover) + p["color"][part, :, None, None] * cover
        out[part] = np.clip(np.round(img), 0, 255).astype(np.uint8)
        if progress is not None:
            progress(part.stop / n, f"Drawing shapes {part.stop}/{n}")
    return out, p["label"]


def cache_path(n: int, size: int, mode: str, seed: int) -> Path:
    """Where a drawn set is kept (in the data folder): one file per drawing, named by what decides its pixels."""
    return data_root() / SHAPES_CACHE / f"{mode}-{size}px-{n}-seed{seed}-{RENDER_VERSION}.pt"


def _cached(path: Path, n: int, size: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The drawn set from its cache file, or None when absent or unreadable (then it is drawn again).

    A torch file, not numpy's .npz: np.load parses each array's header with ast, and on Python 3.11.7 two threads
    building ASTs at once (this load on the training thread, Streamlit parsing a page) can fail either one with
    "AST constructor recursion depth mismatch" (CPython gh-106905)."""
    try:
        found = torch.load(path, map_location="cpu", weights_only=True)
        images, labels = found["images"], found["labels"]
    except (OSError, RuntimeError, EOFError, ValueError, KeyError, TypeError, pickle.UnpicklingError):
        return None
    ok = (isinstance(images, torch.Tensor) and isinstance(labels, torch.Tensor) and images.dtype == torch.uint8
          and tuple(images.shape) == (n, 3, size, size) and tuple(labels.shape) == (n,))
    return (images, labels) if ok else None


def _prune_stale(folder: Path) -> None:
    """Delete drawings no version of the code reads any more: the .npz files of before and other RENDER_VERSIONs
    (3 KB an image: a 10,000-image set is 30 MB, and nothing else would ever remove them)."""
    for old in folder.iterdir():
        drawing = DRAWING_NAME.fullmatch(old.name)
        if drawing and (drawing["ext"] == "npz" or drawing["version"] != RENDER_VERSION):
            old.unlink(missing_ok=True)


def load_shapes(cfg: DataConfig, progress: Progress | None = None) -> ImageData:
    """The shapes set at cfg.image_size (default 28 for triangles, 32 for mixed), RGB; drawn once, then read from the
    data folder (a run's Start then reaches step 1 without drawing; a read-only folder only costs the drawing)."""
    size = cfg.image_size or (28 if cfg.shapes_mode == "triangles" else 32)
    path = cache_path(cfg.num_samples, size, cfg.shapes_mode, cfg.seed)
    found = _cached(path, cfg.num_samples, size)
    if found is None:
        drawn = render_shapes(cfg.num_samples, size, cfg.shapes_mode, cfg.seed, progress)
        found = (torch.from_numpy(drawn[0]), torch.from_numpy(drawn[1]))
        try:
            save_atomic({"images": found[0], "labels": found[1]}, path)
            _prune_stale(path.parent)
        except OSError:
            pass
    images, labels = found
    names = TRIANGLE_COLORS if cfg.shapes_mode == "triangles" else SHAPE_NAMES
    return ImageData(images, labels, list(names), "shapes")
