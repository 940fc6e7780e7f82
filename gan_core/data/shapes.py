"""Synthetic shapes, drawn locally and deterministically by seed: the embedded default data set."""

from __future__ import annotations

import numpy as np
import torch

from ..config import DataConfig
from .base import ImageData, Progress

SHAPE_NAMES = ["triangle", "square", "circle"]
TRIANGLE_COLORS = ["red", "green", "blue"]
_SS = 2  # supersampling factor for anti-aliased edges


def _triangle_mask(gx: np.ndarray, gy: np.ndarray, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    """Boolean mask (H x W) of an equilateral triangle with circumradius r, rotated by angle."""
    a = angle + np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3])
    xs, ys = cx + r * np.cos(a), cy + r * np.sin(a)
    signs = []
    for i in range(3):  # the point is inside when it lies on the same side of all three edges
        j = (i + 1) % 3
        signs.append((xs[j] - xs[i]) * (gy - ys[i]) - (ys[j] - ys[i]) * (gx - xs[i]))
    s = np.stack(signs)
    return (s >= 0).all(0) | (s <= 0).all(0)


def _square_mask(gx: np.ndarray, gy: np.ndarray, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    u, v = (gx - cx) * c + (gy - cy) * s, -(gx - cx) * s + (gy - cy) * c
    half = r / np.sqrt(2)
    return (np.abs(u) <= half) & (np.abs(v) <= half)


def _circle_mask(gx: np.ndarray, gy: np.ndarray, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    return (gx - cx) ** 2 + (gy - cy) ** 2 <= (0.8 * r) ** 2


_MASKS = [_triangle_mask, _square_mask, _circle_mask]


def render_shapes(n: int, size: int, mode: str, seed: int,
                  progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw n images (uint8, N x 3 x size x size) and their labels (shape kind, or color for triangles)."""
    rng = np.random.default_rng(seed)
    s = size * _SS
    gy, gx = np.mgrid[0:s, 0:s].astype(np.float32) + 0.5
    out = np.zeros((n, 3, size, size), dtype=np.uint8)
    labels = np.zeros(n, dtype=np.int64)
    for i in range(n):
        if mode == "triangles":
            kind, label = 0, int(rng.integers(3))
            color = np.eye(3, dtype=np.float32)[label] * 255.0  # pure red, green or blue
            background = np.zeros(3, dtype=np.float32)
        else:
            kind = label = int(rng.integers(3))
            color = rng.uniform(60, 255, 3).astype(np.float32)
            background = rng.uniform(0, 40, 3).astype(np.float32)
        r = rng.uniform(0.22, 0.42) * s
        cx, cy = rng.uniform(r * 0.8, s - r * 0.8, 2)
        mask = _MASKS[kind](gx, gy, cx, cy, r, rng.uniform(0, 2 * np.pi)).astype(np.float32)
        cover = mask.reshape(size, _SS, size, _SS).mean((1, 3))  # H x W coverage in [0, 1]
        img = background[:, None, None] * (1 - cover) + color[:, None, None] * cover
        out[i] = np.clip(np.round(img), 0, 255).astype(np.uint8)
        labels[i] = label
        if progress is not None and i % 2000 == 0:
            progress(i / n, f"Drawing shapes {i}/{n}")
    return out, labels


def load_shapes(cfg: DataConfig, progress: Progress | None = None) -> ImageData:
    """The shapes set at cfg.image_size (default 28 for triangles, 32 for mixed), RGB."""
    size = cfg.image_size or (28 if cfg.shapes_mode == "triangles" else 32)
    images, labels = render_shapes(cfg.num_samples, size, cfg.shapes_mode, cfg.seed, progress)
    names = TRIANGLE_COLORS if cfg.shapes_mode == "triangles" else SHAPE_NAMES
    return ImageData(torch.from_numpy(images), torch.from_numpy(labels), list(names), "shapes")
