"""Explore helpers: the generator of a run (newest valid checkpoint), latents from the widgets, one-pass drawings."""

from __future__ import annotations

import io
import sys

import pytest
import torch
from conftest import make_run
from PIL import Image

import workbench.explore as explore_module
from gan_core.data import to_uint8
from gan_core.latent import sample_latents
from gan_core.runs.checkpoints import find_checkpoints
from gan_core.runs.export import onnx_missing
from gan_core.runs.folders import list_runs
from workbench.explore import (
    PCA_K,
    ExploreSource,
    OnnxDownload,
    checkpoint_source,
    direction_names,
    direction_vector,
    draw,
    explorable_runs,
    latent_vector,
    onnx_download,
    render,
    source,
)

pytestmark = pytest.mark.usefixtures("app_env")


@pytest.fixture
def explored() -> ExploreSource:
    make_run("explored", steps=10, checkpoint_every=5)
    got = source("explored")
    assert isinstance(got, ExploreSource), got
    return got


def test_a_run_is_explored_from_its_newest_checkpoint_that_loads(explored: ExploreSource) -> None:
    assert explored.label == "explored · step 10" and explored.num_directions == PCA_K
    newest = find_checkpoints(list_runs()[0].path)[0]
    newest.write_bytes(b"corrupt")
    older = checkpoint_source(list_runs()[0])
    assert isinstance(older, ExploreSource) and older.label == "explored · step 5"
    assert explorable_runs() == (["explored"], None)
    assert source("deleted-meanwhile") == "Run 'deleted-meanwhile' no longer exists."


def test_the_latent_is_the_seeds_noise_moved_by_the_sliders(explored: ExploreSource) -> None:
    noise = sample_latents(1, explored.latent_dim, 3)[0]
    assert torch.equal(latent_vector(explored, 3, 0.0, [0.0] * 8, [0.0] * PCA_K), noise)
    moved = latent_vector(explored, 3, 0.0, [1.0, -2.0], [0.5])
    assert torch.allclose(moved, noise + torch.tensor([1.0, -2.0] + [0.0] * (explored.latent_dim - 2))
                          + 0.5 * explored.directions[0])
    truncated = latent_vector(explored, 3, 0.5, [], [])
    assert truncated.abs().max() <= 0.5


def test_directions_are_named_as_shown_and_read_back(explored: ExploreSource) -> None:
    names = direction_names(explored, 2)
    assert names == [f"PC {i}" for i in range(1, PCA_K + 1)] + ["dim 1", "dim 2"]
    assert torch.equal(direction_vector(explored, "PC 2"), explored.directions[1])
    unit = direction_vector(explored, "dim 2")
    assert unit[1] == 1.0 and unit.sum() == 1.0


def test_draw_makes_the_sample_and_a_row_along_a_direction(explored: ExploreSource) -> None:
    drawing = draw(explored, 3, 0.0, [], [], "PC 1", 3.0, None, row_len=5)
    with Image.open(io.BytesIO(drawing.main_png)) as main:
        assert main.size == (256, 256)  # a 16 px sample enlarged 16 times
    assert drawing.row.size[0] > 4 * drawing.row.size[1]  # five samples side by side
    assert drawing.milliseconds > 0
    other_seed = draw(explored, 4, 0.0, [], [], "PC 1", 3.0, None, row_len=5)
    assert other_seed.main_png != drawing.main_png


def test_the_onnx_download_is_made_on_first_use_once_and_samples_like_the_page(
        explored: ExploreSource, monkeypatch: pytest.MonkeyPatch) -> None:
    ort = pytest.importorskip("onnxruntime")
    calls = []
    real_export = explore_module.onnx_bytes
    monkeypatch.setattr(explore_module, "onnx_bytes", lambda *a: calls.append(a) or real_export(*a))
    download = onnx_download(explored, "explored")
    assert isinstance(download, OnnxDownload) and download.file_name == "explored-step10.onnx"
    assert calls == []  # nothing exported while the page draws: only when the button is clicked
    data = download.data()
    assert onnx_download(explored, "explored").data() is data and len(calls) == 1  # later clicks reuse it
    z = sample_latents(4, explored.latent_dim, 3)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    images = torch.from_numpy(sess.run(None, {"z": z.numpy()})[0])
    assert (to_uint8(images).int() - render(explored, z, None).int()).abs().max() <= 1  # rounding at .5 may differ
    with torch.no_grad():
        assert (images - explored.loaded.generator(z)).abs().max() <= 1e-4


def test_without_onnx_the_download_is_a_sentence(explored: ExploreSource, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert onnx_download(explored, "explored") == onnx_missing()
    assert onnx_missing().startswith("ONNX export needs the onnx package")


@pytest.mark.parametrize("steps", [3, 16])
def test_the_interpolation_gif_has_the_strips_frames(explored: ExploreSource, steps: int) -> None:
    import numpy as np

    from workbench.explore import interpolation

    strip_png, gif = interpolation(explored, explored.key, 1, 2, "slerp", steps, 0.0, None)
    side = 16  # make_run trains tiny_config: 16 x 16 images
    with Image.open(io.BytesIO(strip_png)) as strip, Image.open(io.BytesIO(gif)) as anim:
        f = strip.height // (side + 4)  # the strip: one row of `steps` images, 2 px padding, enlarged f times
        cells = np.asarray(strip.convert("RGB"))[2 * f::f, 2 * f::f][:side]  # back to 1 px per pixel
        frames = []
        for i in range(anim.n_frames):
            anim.seek(i)
            frame = np.asarray(anim.convert("RGB"))
            k = frame.shape[0] // side
            frames.append(frame[::k, ::k].astype(int))
    assert len(frames) == steps  # was 2 * steps - 2 (there and back)
    for i in (0, steps - 1):  # the GIF starts and ends where the strip does
        cell = cells[:, i * (side + 2): i * (side + 2) + side].astype(int)
        assert np.abs(frames[i] - cell).mean() < 8  # GIF palette rounding only
