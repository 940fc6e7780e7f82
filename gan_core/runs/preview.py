"""A run's live preview for readers in other processes: the newest fixed-noise picture, one small PNG replaced often.

Saved grids come every sample_every steps (minutes apart on a slow CPU); the trainer's previews (every 2 s at first,
then every 10 s) were shown only by the process that trains. Written here, the app watching a CLI run shows them too.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from ..fileio import write_atomic
from ..images import grid_image, png_bytes

PREVIEW_FILE = "preview.png"
_STEP_KEY = "step"  # a PNG text chunk: the step the picture shows


def write_preview(run_dir: str | Path, step: int, grid: torch.Tensor) -> None:
    """grid: uint8 N x C x H x W -> run_dir/preview.png with its step inside (~5 ms for a 242 x 242 grid); replaced
    atomically, never fsynced (the next preview or grid replaces it within seconds)."""
    write_atomic(Path(run_dir) / PREVIEW_FILE, png_bytes(grid_image(grid), {_STEP_KEY: str(int(step))}), durable=False)


def read_preview(run_dir: str | Path) -> tuple[int, Path] | None:
    """(step, file) of the run's preview, or None when it has none or it cannot be read (reads the header only)."""
    path = Path(run_dir) / PREVIEW_FILE
    try:
        with Image.open(path, formats=["PNG"]) as im:
            return int(im.info[_STEP_KEY]), path
    except (OSError, KeyError, ValueError, SyntaxError):
        return None
