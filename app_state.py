"""The one bridge between Streamlit and gan_core: process-wide job registry, caches, config building, page helpers."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import streamlit as st
import torch

from app_config import (CUSTOM, FLOAT_SETTINGS, SETTINGS, apply_settings, dataset_summary, default_recipe,
                        recipe_config, recipe_note, settings_from_config)
from gan_core.checkpoints import latest_valid_checkpoint, load_checkpoint
from gan_core.config import ARCH_NAMES, DEVICE_NAMES, LOSS_NAMES, DataConfig, RunConfig
from gan_core.data import DATASETS, ImageData, data_root, load_dataset
from gan_core.data.folder import save_uploads
from gan_core.device import describe_device
from gan_core.errors import CheckpointError, ConfigError, UserError
from gan_core.images import gif_bytes, grid_image, png_bytes, tensor_image, upscale
from gan_core.job import JobRegistry, JobSnapshot, TrainingJob
from gan_core.latent import LoadedGenerator, lerp, load_generator, pca_directions, sample_latents, slerp
from gan_core.models import ARCHITECTURES
from gan_core.presets import DEFAULT_PRESET, PRESETS, preset_config
from gan_core.runs import RunInfo, checkpoint_root, delete_run, list_runs, new_run_name, run_path

# Re-exported so pages need no gan_core import of their own (the layer rule in DESIGN.md).
__all__ = ["ARCH_NAMES", "ARCHITECTURES", "CUSTOM", "DATASETS", "DEFAULT_PRESET", "DEVICE_NAMES", "FLOAT_SETTINGS",
           "LOSS_NAMES", "PRESETS", "SETTINGS", "DataConfig", "ImageData", "JobSnapshot", "RunConfig", "RunInfo",
           "TrainingJob", "UserError", "apply_settings", "dataset_summary", "default_recipe", "describe_device",
           "gif_bytes", "grid_image", "png_bytes", "recipe_config", "recipe_note", "settings_from_config",
           "tensor_image", "upscale"]

# Seconds between live-panel refreshes; an env var so tests and slow machines can change it without code.
POLL_SECONDS = float(os.environ.get("GAN_WORKBENCH_POLL_SECONDS", "1.0"))
CHART_SECONDS = max(2 * POLL_SECONDS, 2.0)  # the charts cost the most to send and change once per logged step
# Steps between sample grids of the Home page's quick-start run (the preset's when unset); the browser test sets it
# low so that grids change within seconds on a slow CPU.
QUICK_SAMPLE_EVERY = int(os.environ.get("GAN_WORKBENCH_SAMPLE_EVERY") or 0)
DATA_KEY = "data_config"  # session key of the chosen DataConfig (a plain dict), shared by Data and Train
RUN_KEY = "train_run"  # session key of the run this browser session watches on the Train page
FLASH_KEY = "flash"  # messages set in callbacks, shown once on the next run of a page
ENTERED_KEY = "entered_via_app"  # set by app.py: this session's runs go through its navigation


def run_inside_app() -> None:
    """Called first by every page file: make sure the page runs inside app.py's navigation.

    Streamlit sees the pages/ folder and, until some session has run app.py's st.navigation, runs a requested page
    file alone as an old-style multipage app: a fresh server whose first visitor opens /Train (a bookmark, a reload)
    would show every session pages without Home, sidebar or wide layout. Turning that mode off and rerunning sends
    this and every later run through app.py. A session that came through app.py never needs the rerun (AppTest
    runs pages that way after its first run, and a rerun would drop the click it is testing).
    """
    from streamlit.runtime.pages_manager import PagesManager  # internal: the flag st.navigation itself clears

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if not st.session_state.get(ENTERED_KEY):
            st.rerun()


# ---- process-wide objects (shared by every session, every tab, every rerun) ----------------------------------------
@st.cache_resource(show_spinner=False)
def job_registry() -> JobRegistry:
    """The one registry of training jobs: it survives reruns, page changes, reloads and second tabs."""
    return JobRegistry()


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


def config_key(cfg: DataConfig) -> str:
    return json.dumps(dataclasses.asdict(cfg), sort_keys=True)


def load_data(cfg: DataConfig, progress: Callable[[float, str], None] | None = None) -> ImageData:
    """The data set of cfg from the store, or loaded now (raises UserError with the fix when it cannot be)."""
    store = data_store()
    data = store.get(cfg)
    if data is None:
        data = load_dataset(cfg, progress)
        store.put(cfg, data)
    return data


# ---- session helpers -------------------------------------------------------------------------------------------------
def default(key: str, value: Any) -> Any:
    """Give a widget key its first value; widgets then take it from session state (no value= clash on reruns)."""
    return st.session_state.setdefault(key, value)


def flash(message: str, kind: str = "info") -> None:
    st.session_state.setdefault(FLASH_KEY, []).append((kind, message))


def show_flash() -> None:
    """Messages left by button callbacks (which run before the page and cannot draw themselves)."""
    for kind, message in st.session_state.pop(FLASH_KEY, []):
        getattr(st, kind)(message)


def chosen_data() -> DataConfig | None:
    """The data set picked on the Data page, or None when the user has not picked one."""
    d = st.session_state.get(DATA_KEY)
    return DataConfig(**d) if isinstance(d, dict) else None


def choose_data(cfg: DataConfig) -> None:
    st.session_state[DATA_KEY] = dataclasses.asdict(cfg)


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


# ---- training ----------------------------------------------------------------------------------------------------------
def suggest_run_name(cfg: RunConfig) -> str:
    return new_run_name(cfg)


def start_training(cfg: RunConfig, name: str) -> TrainingJob:
    """Start a new run in a fresh folder (UserError when the name is bad or taken, or another run is training)."""
    path = run_path(name.strip())
    if path.exists():
        raise ConfigError(f"A run named '{path.name}' already exists: choose another name, or resume it on the Runs page.")
    # Reuse the data set the Data page loaded; otherwise the training thread loads it (progress in the live panel).
    job = job_registry().start(cfg, path, data=data_store().get(cfg.data))
    st.session_state[RUN_KEY] = path.name
    return job


def quick_start() -> TrainingJob:
    """The Home page's one button: the embedded shapes data set with the tuned default recipe."""
    cfg = preset_config(DEFAULT_PRESET)
    if QUICK_SAMPLE_EVERY > 0:
        cfg.train.sample_every = QUICK_SAMPLE_EVERY
    return start_training(cfg, new_run_name(cfg))


def resume_training(run: RunInfo, total_steps: int) -> TrainingJob:
    """Continue a stopped (or finished) run from its newest valid checkpoint up to total_steps, in its own folder."""
    found = latest_valid_checkpoint(run.path)
    if found is None:
        raise CheckpointError(f"Run '{run.name}' has no valid checkpoint to resume from: start a new run instead.")
    path, state = found
    if total_steps <= int(state["step"]):
        raise ConfigError(f"The checkpoint is at step {state['step']}: choose a total above that to train further.")
    cfg = RunConfig.from_dict(state["config"])
    cfg.train.steps, cfg.train.epochs = int(total_steps), None
    job = job_registry().start(cfg.validate(), run.path, resume_from=path, data=data_store().get(cfg.data))
    st.session_state[RUN_KEY] = run.name
    return job


def watched_job() -> TrainingJob | None:
    """The job to show: the one training now (perhaps started in another tab), else this session's last one."""
    registry = job_registry()
    active = registry.active()
    if active is not None:
        # Remember it: a session that never started it (a reload, a second tab) still finds it once its thread ends.
        st.session_state[RUN_KEY] = active.run_dir.name
        return active
    name = st.session_state.get(RUN_KEY)
    return registry.get(name) if name else None


def live_job(run_name: str) -> TrainingJob | None:
    job = job_registry().get(run_name)
    return job if job is not None and job.alive else None


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def device_line() -> str:
    try:
        return describe_device()
    except Exception as e:  # noqa: BLE001 - a broken driver must not take the Home page down
        return f"device unknown ({type(e).__name__})"


# ---- runs ---------------------------------------------------------------------------------------------------------------
def runs() -> list[RunInfo]:
    return list_runs()


def runs_folder() -> Path:
    return checkpoint_root()


def run_status(run: RunInfo) -> str:
    job = live_job(run.name)
    return job.snapshot().status if job is not None else str(run.meta.get("status", "unknown"))


def runs_table(items: Sequence[RunInfo]) -> list[dict[str, Any]]:
    """One row per run for st.dataframe: the meta.json fields, with the live status of a run training now."""
    rows = []
    for r in items:
        m, last, quality = r.meta, r.meta.get("last") or {}, r.meta.get("quality") or {}
        job = live_job(r.name)
        snap = job.snapshot() if job is not None else None
        rows.append({
            "run": r.name, "status": snap.status if snap else m.get("status", "unknown"),
            "data set": m.get("dataset"), "architecture": m.get("arch"), "loss": m.get("loss"),
            "step": snap.step if snap else m.get("step"), "of": snap.total_steps if snap else m.get("total_steps"),
            "time": format_seconds(snap.train_seconds if snap else m.get("train_seconds")),
            "loss/D": last.get("loss/D"), "loss/G": last.get("loss/G"),
            "quality": quality.get("quality"), "checkpoints": len(r.checkpoints),
        })
    return rows


@st.cache_data(show_spinner=False, max_entries=64)
def _checkpoint_history(path: str, mtime_ns: int) -> list[dict[str, float]]:
    try:
        return list(load_checkpoint(path).get("history", []))
    except CheckpointError:  # a corrupt newest file: the caller tries the next one
        return []


def run_history(run: RunInfo) -> list[dict[str, float]]:
    """Metric history: from the live job while it trains, else from the newest checkpoint (cached by path+mtime)."""
    job = live_job(run.name)
    if job is not None:
        return job.snapshot().history
    for path in run.checkpoints:
        history = _checkpoint_history(str(path), path.stat().st_mtime_ns)
        if history:
            return history
    return []


def remove_run(name: str) -> None:
    """Delete a run folder; refused (UserError) while that run trains."""
    if live_job(name) is not None:
        raise UserError(f"Run '{name}' is training: stop it on the Train page before deleting it.")
    delete_run(name)


def timeline_gif(run: RunInfo) -> bytes:
    """An animated GIF of a run's saved grids (at most 120 frames, evenly spaced), cached by files and mtimes."""
    paths = tuple(str(p) for p in run.grids)
    return _timeline_gif(paths, max((os.stat(p).st_mtime_ns for p in paths), default=0))


@st.cache_data(show_spinner=False, max_entries=8)
def _timeline_gif(paths: tuple[str, ...], newest_mtime_ns: int, min_side: int = 256, duration_ms: int = 150) -> bytes:
    from PIL import Image

    stride = max(1, len(paths) // 120)
    frames = []
    for p in paths[::stride]:
        with Image.open(p) as im:
            frames.append(upscale(im.convert("RGB"), min_side))
    return gif_bytes(frames, duration_ms)


# ---- explore --------------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class ExploreSource:
    """A generator to explore and what is cached with it: key identifies the weights (path+mtime or live step)."""

    key: str
    loaded: LoadedGenerator
    directions: torch.Tensor  # k x latent unit PCA directions
    label: str

    @property
    def latent_dim(self) -> int:
        return int(self.loaded.generator.latent_dim)

    @property
    def num_classes(self) -> int:
        return int(self.loaded.generator.num_classes)

    def class_names(self) -> list[str]:
        names = list(self.loaded.class_names)
        return names if len(names) == self.num_classes else [f"class {i}" for i in range(self.num_classes)]


PCA_K = 8


@st.cache_resource(show_spinner=False, max_entries=8)
def _checkpoint_source(path: str, mtime_ns: int) -> ExploreSource | str:
    """Generator and PCA directions of one checkpoint file, computed once per file version; a str is the error."""
    try:
        lg = load_generator(path)
    except UserError as e:
        return str(e)
    lg.state = {k: v for k, v in lg.state.items() if k not in ("D", "opt_G", "opt_D", "G", "EMA")}  # keep memory small
    directions = pca_directions(lg.generator, PCA_K)
    return ExploreSource(f"{path}:{mtime_ns}", lg, directions, f"{Path(path).parent.name} · step {lg.step}")


def checkpoint_source(run: RunInfo) -> ExploreSource | str:
    """The newest checkpoint of run that loads (corrupt newer files are skipped), or the reason there is none."""
    error = f"Run '{run.name}' has no checkpoint yet."
    for path in run.checkpoints:
        got = _checkpoint_source(str(path), path.stat().st_mtime_ns)
        if isinstance(got, ExploreSource):
            return got
        error = got
    return error


def live_source(job: TrainingJob, refresh: bool = False) -> ExploreSource | str:
    """A snapshot copy of the generator training now (job.generator()), kept per session until refreshed."""
    store = st.session_state.get("explore_live")
    if store is None or store.key.split("@")[0] != job.run_dir.name or refresh:
        g = job.generator()  # None while the run still loads its data set
        if g is None:
            return "The run is still loading its data set: try again in a moment."
        snap = job.snapshot()
        lg = LoadedGenerator(g, job.config, snap.step, snap.class_names, {})
        store = ExploreSource(f"{job.run_dir.name}@{snap.step}", lg, pca_directions(g, PCA_K),
                              f"{job.run_dir.name} · live copy at step {snap.step}")
        st.session_state["explore_live"] = store
    return store


def latent_vector(source: ExploreSource, seed: int, truncation: float, dim_offsets: Sequence[float],
                  pc_amounts: Sequence[float]) -> torch.Tensor:
    """(latent,) z: the seed's noise (truncated), plus offsets on the first dimensions and moves along PCA directions."""
    z = sample_latents(1, source.latent_dim, int(seed), truncation if truncation > 0 else None)[0].clone()
    k = min(len(dim_offsets), source.latent_dim)
    z[:k] += torch.tensor(list(dim_offsets[:k]), dtype=z.dtype)
    amounts = torch.tensor(list(pc_amounts[: source.directions.shape[0]]), dtype=z.dtype)
    return z + amounts @ source.directions[: len(amounts)]


def render(source: ExploreSource, z: torch.Tensor, label: int | None) -> torch.Tensor:
    """uint8 N x C x H x W for latents z (N x latent); one forward pass."""
    labels = torch.full((z.shape[0],), int(label), dtype=torch.long) if source.num_classes and label is not None else None
    return source.loaded.images(z, labels)


def direction_vector(source: ExploreSource, name: str) -> torch.Tensor:
    """The unit latent direction named 'PC n' or 'dim n' (1-based, as shown to the user)."""
    kind, index = name.split(" ")
    i = int(index) - 1
    if kind == "PC":
        return source.directions[i]
    v = torch.zeros(source.latent_dim)
    v[i] = 1.0
    return v


@st.cache_data(show_spinner=False, max_entries=32)
def interpolation(_source: ExploreSource, source_key: str, seed_a: int, seed_b: int, mode: str, steps: int,
                  truncation: float, label: int | None) -> tuple[bytes, bytes]:
    """(PNG strip, animated GIF) from seed_a to seed_b; cached by the weights' key and the settings."""
    t = truncation if truncation > 0 else None
    a = sample_latents(1, _source.latent_dim, seed_a, t)[0]
    b = sample_latents(1, _source.latent_dim, seed_b, t)[0]
    path = (slerp if mode == "slerp" else lerp)(a, b, steps)
    images = render(_source, path, label)
    strip = grid_image(images, nrow=steps)
    frames = [upscale(tensor_image(im), 256) for im in images]
    frames += frames[-2:0:-1]  # there and back, so the loop has no jump
    return png_bytes(upscale(strip, 96)), gif_bytes(frames, 120)
