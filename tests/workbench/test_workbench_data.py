"""The data-set choice: its one-line summary, its key, and the store of loaded sets that training reuses."""

from __future__ import annotations

import torch

from gan_core.config import DataConfig
from gan_core.data import ImageData
from workbench.data import DataStore, config_key, dataset_summary, preview_image


def test_the_summary_names_the_choices_that_matter() -> None:
    assert dataset_summary(None) == "none chosen yet"
    assert dataset_summary(DataConfig(name="shapes", shapes_mode="triangles", num_samples=1280, image_size=16)) == (
        "shapes, triangles, 1,280 images, 16x16")
    assert dataset_summary(DataConfig(name="folder", data_dir="/photos")) == "folder, from /photos"


def test_equal_choices_share_a_key() -> None:
    assert config_key(DataConfig(name="mnist")) == config_key(DataConfig(name="mnist"))
    assert config_key(DataConfig(name="mnist")) != config_key(DataConfig(name="mnist", image_size=32))
    assert config_key(None) == ""


def images(n: int = 4) -> ImageData:
    return ImageData(torch.zeros(n, 1, 8, 8, dtype=torch.uint8))


def test_the_store_keeps_the_newest_sets_only() -> None:
    store = DataStore(max_entries=2)
    a, b, c = (DataConfig(name="shapes", num_samples=n) for n in (16, 32, 64))
    loaded = {"a": images(), "b": images(), "c": images()}
    store.put(a, loaded["a"])
    store.put(b, loaded["b"])
    assert store.get(DataConfig(name="shapes", num_samples=16)) is loaded["a"]  # an equal choice finds it; a is newest
    store.put(c, loaded["c"])
    assert store.get(b) is None and store.get(a) is loaded["a"] and store.get(c) is loaded["c"]


def test_the_preview_is_a_grid_of_the_first_images_enlarged() -> None:
    grid = preview_image(images(64), min_side=300)
    assert grid.size == (246, 246)  # 8 x 8 cells of 8 px + 9 x 2 px padding = 82 px, times 3
