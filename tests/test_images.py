"""Sample grids: the same pixels as torchvision's make_grid, without importing torchvision at start."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from conftest import REPO

from gan_core.images import grid_array, grid_image


@pytest.mark.parametrize("channels", [1, 3])
def test_grid_has_the_pixels_of_torchvisions_make_grid(channels: int) -> None:
    from torchvision.utils import make_grid

    gen = torch.Generator().manual_seed(0)
    for n in (1, 2, 5, 16, 17):
        images = torch.randint(0, 256, (n, channels, 7, 9), dtype=torch.uint8, generator=gen)
        for nrow in (1, 3, 8, 20):
            for padding in (0, 2):
                expected = make_grid(images, nrow=nrow, padding=padding, pad_value=0)
                assert torch.equal(grid_array(images, nrow, padding), expected), (n, nrow, padding)
    picture = grid_image(images)  # 17 images: 5 a row, 4 rows, padding 2
    assert picture.size == (5 * 11 + 2, 4 * 9 + 2) and picture.mode == "RGB"


def test_the_command_line_starts_without_torchvision() -> None:
    # torchvision's first import took about 2 s of a 3 s start on a slow CPU; only downloads need it.
    code = "import sys, gan_core.cli.commands, gan_core.images; print('torchvision' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
