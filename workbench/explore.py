"""Explore helpers: generators (checkpoints or a live copy) with PCA directions, latents, images, paths, ONNX file."""

from __future__ import annotations

import dataclasses
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import streamlit as st
import torch
from PIL import Image

from gan_core.data import data_root, load_dataset
from gan_core.errors import UserError
from gan_core.images import gif_bytes, grid_image, png_bytes, tensor_image, upscale
from gan_core.job import TrainingJob
from gan_core.latent import lerp, pca_directions, sample_latents, slerp
from gan_core.metrics import QualityScorer
from gan_core.runs.export import onnx_bytes, onnx_missing
from gan_core.runs.folders import RunInfo
from gan_core.runs.generator import LoadedGenerator, load_generator
from workbench.data import config_key, data_store
from workbench.jobs import job_registry
from workbench.runs import runs

PCA_K = 8  # PCA directions offered as sliders
GIF_FRAME_MS = 250  # per frame of the interpolation GIF: 16 frames loop in 4 seconds
LIVE_KEY = "explore_live"  # session key of this session's copy of the generator training now


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

    @property
    def num_directions(self) -> int:
        return int(self.directions.shape[0])

    def class_names(self) -> list[str]:
        names = list(self.loaded.class_names)
        return names if len(names) == self.num_classes else [f"class {i}" for i in range(self.num_classes)]


# ---- which generator -------------------------------------------------------------------------------------------------
def explorable_runs() -> tuple[list[str], str | None]:
    """(run names to offer, the one training now or None): runs with a checkpoint, and the live run first."""
    active = job_registry().active()
    live = active.run_dir.name if active is not None else None
    options = [r.name for r in runs() if r.checkpoints or r.name == live]
    if live is not None and live not in options:
        options.insert(0, live)
    return options, live


def source(name: str, refresh: bool = False) -> ExploreSource | str:
    """The generator of run `name`: a copy of it while it trains (refresh: take a new one), else its checkpoint.
    A str is the reason there is none."""
    active = job_registry().active()
    if active is not None and active.run_dir.name == name:
        return live_source(active, refresh)
    run = next((r for r in runs() if r.name == name), None)
    return checkpoint_source(run) if run is not None else f"Run '{name}' no longer exists."


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
    store = st.session_state.get(LIVE_KEY)
    if store is None or store.key.split("@")[0] != job.run_dir.name or refresh:
        g = job.generator()  # None while the run still loads its data set
        if g is None:
            return "The run is still loading its data set: try again in a moment."
        snap = job.snapshot()
        lg = LoadedGenerator(g, job.config, snap.step, snap.class_names, {})
        store = ExploreSource(f"{job.run_dir.name}@{snap.step}", lg, pca_directions(g, PCA_K),
                              f"{job.run_dir.name} · live copy at step {snap.step}")
        st.session_state[LIVE_KEY] = store
    return store


# ---- latents and images ----------------------------------------------------------------------------------------------
def random_seed() -> int:
    return random.randrange(0, 2**31 - 1)


def direction_names(source: ExploreSource, n_dims: int) -> list[str]:
    """'PC 1'... then 'dim 1'... (1-based, as shown to the user); direction_vector reads them back."""
    return [f"PC {i + 1}" for i in range(source.num_directions)] + [f"dim {i + 1}" for i in range(n_dims)]


def latent_vector(source: ExploreSource, seed: int, truncation: float, dim_offsets: Sequence[float],
                  pc_amounts: Sequence[float]) -> torch.Tensor:
    """(latent,) z: the seed's noise (truncated), plus offsets on the first dimensions and PCA moves."""
    z = sample_latents(1, source.latent_dim, int(seed), truncation if truncation > 0 else None)[0].clone()
    k = min(len(dim_offsets), source.latent_dim)
    z[:k] += torch.tensor(list(dim_offsets[:k]), dtype=z.dtype)
    amounts = torch.tensor(list(pc_amounts[: source.num_directions]), dtype=z.dtype)
    return z + amounts @ source.directions[: len(amounts)]


def direction_vector(source: ExploreSource, name: str) -> torch.Tensor:
    """The unit latent direction named 'PC n' or 'dim n' (1-based, as shown to the user)."""
    kind, index = name.split(" ")
    i = int(index) - 1
    if kind == "PC":
        return source.directions[i]
    v = torch.zeros(source.latent_dim)
    v[i] = 1.0
    return v


ANY_CLASS = -1  # the Class menu's "any class": each seed draws its own class


def class_options(source: ExploreSource) -> list[int]:
    """The Class menu's values: ANY_CLASS, then every class index."""
    return [ANY_CLASS, *range(source.num_classes)]


def class_name(source: ExploreSource, value: int) -> str:
    return "any class (a random one per seed)" if value == ANY_CLASS else source.class_names()[value]


def render(source: ExploreSource, z: torch.Tensor, label: int | None, seed: int = 0) -> torch.Tensor:
    """uint8 N x C x H x W for latents z (N x latent); one forward pass. A conditional generator draws class
    `label` for every image, or with ANY_CLASS one class drawn from `seed` (the same seed, the same class)."""
    labels = None
    if source.num_classes and label is not None:
        if label == ANY_CLASS:
            label = int(torch.randint(source.num_classes, (1,), generator=torch.Generator().manual_seed(seed)))
        labels = torch.full((z.shape[0],), int(label), dtype=torch.long)
    return source.loaded.images(z, labels)


@dataclasses.dataclass
class Drawing:
    """What the explorer shows for one setting of its widgets."""

    main_png: bytes  # the sample, enlarged to 256 px
    sample: torch.Tensor  # that sample, uint8 1 x C x H x W
    row: Image.Image  # row_len samples along one direction, enlarged
    milliseconds: float  # time to make both


def draw(source: ExploreSource, seed: int, truncation: float, dim_offsets: Sequence[float],
         pc_amounts: Sequence[float], direction: str, span: float, label: int | None, row_len: int = 7) -> Drawing:
    """The sample at the widgets' latent and a row from -span to +span along `direction`, in one forward pass."""
    started = time.perf_counter()
    z = latent_vector(source, seed, truncation, dim_offsets, pc_amounts)
    steps = torch.linspace(-span, span, row_len).unsqueeze(1)  # row_len x 1
    row = z.unsqueeze(0) + steps * direction_vector(source, direction).unsqueeze(0)  # row_len x latent
    images = render(source, torch.cat([z.unsqueeze(0), row]), label, seed)
    main_png = png_bytes(upscale(tensor_image(images[0]), 256))
    strip = upscale(grid_image(images[1:], nrow=row_len), 96)
    return Drawing(main_png, images[:1], strip, 1000 * (time.perf_counter() - started))


@st.cache_data(show_spinner=False, max_entries=32)
def interpolation(_source: ExploreSource, source_key: str, seed_a: int, seed_b: int, mode: str, steps: int,
                  truncation: float, label: int | None) -> tuple[bytes, bytes]:
    """(PNG strip, animated GIF) from seed_a to seed_b; cached by the weights' key and the settings."""
    t = truncation if truncation > 0 else None
    a = sample_latents(1, _source.latent_dim, seed_a, t)[0]
    b = sample_latents(1, _source.latent_dim, seed_b, t)[0]
    path = (slerp if mode == "slerp" else lerp)(a, b, steps)
    images = render(_source, path, label, seed_a)
    strip = grid_image(images, nrow=steps)
    # The GIF shows exactly the strip's images, one frame each (a way back doubled them: 30 frames for 16).
    frames = [upscale(tensor_image(im), 256) for im in images]
    return png_bytes(upscale(strip, 96)), gif_bytes(frames, GIF_FRAME_MS)


# ---- nearest training images -----------------------------------------------------------------------------------------
NEIGHBOURS = 3  # training images shown per sample


@st.cache_resource(show_spinner=False, max_entries=2)
def _copy_scorer(data_key: str, _source: ExploreSource) -> QualityScorer | str:
    """The run's data set with its copy check (features of its training images, cached on disk); a str: why not."""
    cfg = _source.loaded.config.data
    try:
        real = data_store().get(cfg) or load_dataset(cfg)
        return QualityScorer(real, data_root() / "stats", coverage=False)
    except UserError as e:
        return f"The run's data set cannot be loaded to compare with: {e}"


@dataclasses.dataclass
class NeighbourView:
    """A sample's nearest training images: by features always, by pixels for small sets; and the copy verdict."""

    by_features: list[tuple[Image.Image, int, float]]  # (image, index in the training set, distance)
    by_pixels: list[tuple[Image.Image, int, float]]  # empty for sets searched through a subset
    verdict: str


def neighbours(source: ExploreSource, image: torch.Tensor, side: int = 96) -> NeighbourView | str:
    """The NEIGHBOURS nearest training images of one sample (uint8 1 x C x H x W); a str says why there are none."""
    scorer = _copy_scorer(config_key(source.loaded.config.data), source)
    if isinstance(scorer, str):
        return scorer
    check = scorer.copy_check
    if check is None:
        return "The data set is too small to compare with."
    feats = scorer.features(image)  # 1 x dim

    def pictures(found) -> list[tuple[Image.Image, int, float]]:  # found: metrics.Neighbours of one sample
        return [(upscale(tensor_image(check.images[int(i)]), side), int(i), float(d))
                for i, d in zip(found.index[0], found.distance[0])]

    report = check.check(image, feats)
    distance, nearest = float(report.distance[0]), int(report.nearest[0])
    if report.flagged.numel():
        verdict = (f"**Likely a copy** of training image #{nearest}: {distance:.3f} RMS apart, under the copy "
                   f"threshold {check.threshold:.3f}.")
    else:
        ratio = distance / check.threshold if check.threshold > 0 else math.inf
        verdict = (f"**Not a copy**: the closest training image (#{nearest}) is {distance:.3f} RMS apart, "
                   f"{ratio:.1f}x the copy threshold {check.threshold:.3f}.")
    return NeighbourView(pictures(check.nearest_features(feats, NEIGHBOURS)),
                         pictures(check.nearest_pixels(image, NEIGHBOURS)) if check.whole else [], verdict)


# ---- ONNX download ---------------------------------------------------------------------------------------------------
class _Once:
    """Bytes made on first use, then kept; thread-safe: Streamlit runs a download's callable outside the script."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: bytes | None = None

    def get(self, make: Callable[[], bytes]) -> bytes:
        with self._lock:
            if self._data is None:
                self._data = make()
            return self._data


@st.cache_resource(show_spinner=False, max_entries=4)
def _onnx_once(source_key: str) -> _Once:
    """One holder per generator version (source.key), shared by sessions: an export is made at most once."""
    return _Once()


@dataclasses.dataclass
class OnnxDownload:
    """What the Download generator (ONNX) button needs: a callable made on click (never on page load), a file name."""

    data: Callable[[], bytes]
    file_name: str


def onnx_download(source: ExploreSource, run_name: str) -> OnnxDownload | str:
    """The ONNX file of the explored generator, built lazily on the first click; a str says why there is none."""
    missing = onnx_missing()
    if missing:
        return missing
    once = _onnx_once(source.key)
    loaded = source.loaded
    return OnnxDownload(lambda: once.get(lambda: onnx_bytes(loaded, run_name)),
                        f"{run_name}-step{loaded.step}.onnx")
