"""The data set chosen on the Data page (carried to Train), and loaded data sets kept for training to reuse."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
from PIL import Image

from gan_core.config import POINT_DATASETS as POINT_DATASETS  # re-exported for the Data page
from gan_core.config import DataConfig
from gan_core.data import DATASETS, ImageData, data_root, load_dataset
from gan_core.data.base import SUPPORTED_SIZES as SUPPORTED_SIZES  # re-exported for the Data page
from gan_core.data.folder import save_uploads
from gan_core.data.local import INSTALLABLE, DataFolder, data_folders, install_files
from gan_core.data.local import expected_files as expected_files  # re-exported for the Data page
from gan_core.data.local import install_folder as install_folder  # re-exported for the Data page
from gan_core.data.uploads import name_list, upload_label
from gan_core.images import grid_image, upscale
from gan_core.train.playground import plot_extent
from gan_core.train.point_callbacks import REAL_SHOWN, render_scatter
from workbench import prefs
from workbench.session import default

DATA_KEY = "data_config"  # session key of the chosen DataConfig (a plain dict), shared by Data and Train


def dataset_names() -> list[str]:
    return list(DATASETS)


def dataset_description(name: str) -> str:
    return DATASETS[name].description


def dataset_label(name: str) -> str:
    """The data set's entry in the Data page's menu."""
    return DATASETS[name].label


def downloadable(name: str) -> bool:
    return DATASETS[name].downloads


def dataset_summary(cfg: DataConfig | None) -> str:
    """One line naming the data set and the choices that matter (mode, count, folder, size)."""
    if cfg is None:
        return "none chosen yet"
    parts = [cfg.name]
    if cfg.name == "shapes":
        parts.append(f"{cfg.shapes_mode}, {cfg.num_samples:,} images")
    if cfg.name in POINT_DATASETS:
        parts.append(f"{cfg.num_samples:,} 2-D points")
    if cfg.data_dir:
        parts.append(f"from {upload_label(cfg.data_dir) or cfg.data_dir}")  # an upload by its files, not its folder
    if cfg.image_size:
        parts.append(f"{cfg.image_size}x{cfg.image_size}")
    loaded = data_store().get(cfg) if cfg.name == "folder" and not (cfg.image_size and cfg.channels) else None
    if loaded is not None:  # "native": the loaded images' own size and channels, named without changing the choice
        c, h, w = loaded.shape
        parts.append(f"{h}x{w} {'RGB' if c == 3 else 'greyscale'} (native)")
    return ", ".join(parts)


def received(uploads: Sequence[Any]) -> str:
    """'Received 6 files: a.png, b.png, c.png and 3 more.': what the server holds of an uploader's files."""
    return f"Received {len(uploads)} file{'s' if len(uploads) != 1 else ''}: {name_list([f.name for f in uploads])}."


def upload_name(folder: str | None) -> str | None:
    """'your upload (a.png, ...)' when a data_dir is an upload kept by the app (never shown by its server path)."""
    return upload_label(folder) if folder else None


# ---- the session's choice ------------------------------------------------------------------------------------------
def chosen_data() -> DataConfig | None:
    """The data set picked on the Data page, or None when the user has not picked one."""
    d = st.session_state.get(DATA_KEY)
    return DataConfig(**d) if isinstance(d, dict) else None


def choose_data(cfg: DataConfig) -> None:
    """Make cfg the session's data set, and remember it for the next session (reloads, restarts)."""
    st.session_state[DATA_KEY] = dataclasses.asdict(cfg)
    prefs.remember("data", st.session_state[DATA_KEY])


def form_start() -> DataConfig:
    """What the Data page's widgets start from: the chosen data set, else the defaults (shapes)."""
    return chosen_data() or DataConfig()


def form_config(values: dict[str, Any]) -> DataConfig:
    """The data set the Data page's widget values describe (validated when loaded, not here)."""
    return DataConfig(**values)


# ---- loaded data sets (shared by every session) --------------------------------------------------------------------
class DataStore:
    """Loaded data sets keyed by their DataConfig, newest kept; training reuses them instead of loading again."""

    def __init__(self, max_entries: int = 2) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[str, ImageData] = OrderedDict()
        self.max_entries = max_entries

    def get(self, cfg: DataConfig) -> ImageData | None:
        with self._lock:
            data = self._items.get(config_key(cfg))
            if data is not None:
                self._items.move_to_end(config_key(cfg))
            return data

    def put(self, cfg: DataConfig, data: ImageData) -> None:
        with self._lock:
            self._items[config_key(cfg)] = data
            while len(self._items) > self.max_entries:  # whole data sets are big: keep only the recent ones
                self._items.popitem(last=False)


@st.cache_resource(show_spinner=False)
def data_store() -> DataStore:
    return DataStore()


def config_key(cfg: DataConfig | None) -> str:
    """A stable string for a data choice ("" for none): equal choices give equal keys."""
    return json.dumps(dataclasses.asdict(cfg), sort_keys=True) if cfg is not None else ""


def load_choice(cfg: DataConfig, uploads: Sequence[Any], progress: Callable[[float, str], None]) -> None:
    """Save uploads, validate, load into the store, and make cfg the session's choice.

    Uploaded images (the folder set) win over a typed folder; uploaded MNIST/Fashion-MNIST/CIFAR-10 files go where
    their loader looks (install_folder). Raises UserError with the fix when the data cannot be loaded; the choice
    is then left as it was.
    """
    if uploads and cfg.name in INSTALLABLE:
        install_files(cfg.name, [(f.name, f.getvalue()) for f in uploads])
    elif uploads:
        cfg.data_dir = str(save_uploaded(uploads))
    cfg.validate()
    store = data_store()
    loaded = store.get(cfg)
    if loaded is None:
        loaded = load_dataset(cfg, progress)
    # The choice is kept as made ("native" stays None): a reload restores what the person chose, and the folder
    # recipe trains at the loaded images' own size (the loader resolves native the same way every time).
    store.put(cfg, loaded)
    choose_data(cfg)


def installable(name: str) -> bool:
    """Whether the set's own files can be uploaded (MNIST, Fashion-MNIST, CIFAR-10)."""
    return name in INSTALLABLE


def found_folders() -> list[DataFolder]:
    """The folders under the data root and what each holds, for the Data page."""
    return data_folders()


def save_uploaded(files: Sequence[Any]) -> Path:
    """Write uploaded files (images or zips) once per distinct set into <data root>/uploads/<session>/<digest>."""
    session = default("uploads_session", uuid.uuid4().hex[:12])
    pairs = [(f.name, f.getvalue()) for f in files]
    digest = hashlib.sha256()
    for name, data in pairs:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    dest = data_root() / "uploads" / session / digest.hexdigest()[:16]
    if not dest.is_dir():  # the same upload on every rerun: write it once
        save_uploads(pairs, dest)
    return dest


def preview_image(data: ImageData, count: int = 64, min_side: int = 384) -> Image.Image:
    """A grid of the data set's first images, enlarged for the page; a 2-D point set: a scatter of its points."""
    if data.is_points:
        scatter = render_scatter(data.points[:REAL_SHOWN].numpy(), np.zeros((0, 2)), plot_extent(data.points),
                                 side=min_side)
        return Image.fromarray(scatter[0].permute(1, 2, 0).numpy())
    return upscale(grid_image(data.images[:count]), min_side)
