"""Renderings of a live run shared by every tab that polls it: each figure and grid image is built once per change."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import plotly.graph_objects as go
from PIL import Image

from gan_core.images import grid_image, png_bytes, upscale
from gan_core.metric_names import (
    COPIES,
    COPY_REFERENCE,
    COPY_THRESHOLD,
    COVERAGE_CLASSES,
    COVERAGE_RECOGNISABLE,
    LOSS_KEYS,
    PRECISION,
    PROB_KEYS,
    RECALL,
    STEP,
)
from gan_core.metrics.memorization import FALSE_COPY_RATE
from gan_core.runs.liveness import ENDED as ENDED  # re-exported for the Train page
from gan_core.runs.snapshot import JobSnapshot
from gan_core.runs.status import LOST_STATUS
from gan_core.timefmt import format_seconds
from workbench.charts import Reading, curves_figure, quality_figure, quality_keys, quality_readings

RECOGNITION_NOUNS = {"mnist": "digits", "shapes": "shapes", "fashion_mnist": "kinds of clothing"}
MAX_POINTS = 400  # history entries drawn at most; longer runs are thinned evenly (the last entry always kept)
# Ten tabs polling once a second would otherwise build ten copies of the same figures a second, all in Python, and
# take the interpreter lock from the training thread: one cache for the whole process.
_lock = threading.Lock()
_cache: OrderedDict[tuple, Any] = OrderedDict()
T = TypeVar("T")
SnapshotSource = Callable[[], "JobSnapshot | None"]  # what a live panel polls: a job's snapshot, or a watched folder's


def _memo(key: tuple, build: Callable[[], T], size: int = 32) -> T:
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = build()  # outside the lock: two sessions may build the same thing once, never block each other
    with _lock:
        _cache[key] = value
        while len(_cache) > size:
            _cache.popitem(last=False)
    return value


def thin(history: Sequence[dict[str, float]], max_points: int = MAX_POINTS) -> list[dict[str, float]]:
    """At most about max_points entries, evenly strided, keeping the newest."""
    n = len(history)
    if n <= max_points:
        return list(history)
    stride = -(-n // max_points)
    return [history[i] for i in range(n - 1, -1, -stride)][::-1]


def chart(snap: JobSnapshot, keys: Sequence[str], smoothing: float, title: str, y_title: str = "") -> go.Figure:
    """The live curves of snap's run: rebuilt only when its history grows or the smoothing changes."""
    key = ("chart", snap.run_name, len(snap.history), tuple(keys), round(smoothing, 3), title, y_title)
    # Thin only the entries this chart draws: the app logs two grid-diversity entries per loss entry, and an even
    # stride over the mixed history picked whole stretches of diversity entries only (gaps in the loss curves).
    return _memo(key, lambda: curves_figure(thin([h for h in snap.history if any(k in h for k in keys)]), keys,
                                            smoothing, title, y_title=y_title))


def quality_curves(snap: JobSnapshot) -> list[str]:
    """The quality metrics in snap's history (a scan of the whole history): once per history length, not per poll."""
    return _memo(("quality keys", snap.run_name, len(snap.history)), lambda: quality_keys(snap.history))


def train_charts(snap: JobSnapshot, smoothing: float) -> dict[str, go.Figure]:
    """The Train page's charts by name: "losses", "probs" (D's outputs), and "quality" once the run has scores."""
    charts = {"losses": chart(snap, LOSS_KEYS, smoothing, "Losses", "loss"),
              # Short: the chart is a quarter of the page wide, and plotly does not wrap titles (the legend names
              # D(x) and D(G(z))).
              "probs": chart(snap, PROB_KEYS, smoothing, "D on real vs generated", "D's output (1 = real)")}
    quality = quality_curves(snap)
    if quality:
        # Unsmoothed: each score already averages many samples, and smoothing would hide the newest one.
        charts["quality"] = _memo(("quality", snap.run_name, len(snap.history)), lambda: quality_figure(
            thin([h for h in snap.history if any(k in h for k in quality)]), quality))
    return charts


def has_grid(snap: JobSnapshot) -> bool:
    """Whether there is a grid to show: the job's samples, or a saved grid of a run watched through its folder."""
    return snap.grid is not None or snap.grid_file is not None


def readings(snap: JobSnapshot) -> list[Reading]:
    """The latest quality scores with their change, for st.metric: once per history length."""
    return _memo(("readings", snap.run_name, len(snap.history)),
                 lambda: quality_readings(snap.history, quality_curves(snap)))


def grid_png(snap: JobSnapshot, min_side: int = 384) -> bytes:
    """The latest fixed-noise grid (the job's samples, else the saved file) as PNG bytes, enlarged: encoded once per
    new grid."""
    key = ("grid", snap.run_name, snap.grid_step, snap.grid is None, min_side)
    return _memo(key, lambda: png_bytes(upscale(_grid_picture(snap), min_side)))


def _grid_picture(snap: JobSnapshot) -> Image.Image:
    if snap.grid is not None:
        return grid_image(snap.grid)
    with Image.open(snap.grid_file) as im:
        return im.convert("RGB")


def status_line(snap: JobSnapshot) -> str:
    """'Run `x`: running', and for a run another process trains, who: '... · training elsewhere (host, pid 12)'."""
    if snap.elsewhere and snap.status == LOST_STATUS:
        return f"Run `{snap.run_name}`: {snap.elsewhere}"  # "stopped or lost (no update for 5 min)"
    # "paused" is said from the command on; the step in flight may still land, so the step is named once parked.
    status = f"paused at step {snap.step:,}" if snap.status == "paused" and snap.parked else snap.status
    return f"Run `{snap.run_name}`: {status}" + (f" · {snap.elsewhere}" if snap.elsewhere else "")


def ended_line(snap: JobSnapshot) -> str:
    """'Run stopped at step 646. Checkpoint: ckpt-0000646.pt in the run's folder.': the file by its name, not by the
    server's path (the run's folder is the run: the Runs page and --resume find it by name)."""
    saved = f"Checkpoint: {Path(snap.checkpoint).name} in the run's folder" if snap.checkpoint else \
        "No checkpoint (no step trained)"
    return f"Run {snap.status} at step {snap.step:,}. {saved}."


def speed_line(snap: JobSnapshot) -> str:
    """ETA (once the speed has settled), images/second (while running), time trained and hardware, as one line."""
    # One line, not three metrics: the panel is half the page wide and big metric digits were cut off.
    parts = []
    if snap.eta_seconds is not None:
        parts.append(f"ETA **{format_seconds(snap.eta_seconds)}**")
    if snap.status == "running" and snap.images_per_second > 0:  # a paused or stopped run has no speed
        parts.append(f"**{snap.images_per_second:,.0f}** images/second")
    parts.append(f"**{format_seconds(snap.train_seconds)}** trained")
    if snap.hardware:
        parts.append(snap.hardware)
    return " · ".join(parts)


def recognition_line(snap: JobSnapshot) -> str | None:
    """'9/10 digits drawn, 92% recognisable' from the latest quality score of a labelled set, else None."""
    if not snap.class_names:  # unlabelled sets have no classifier: no need to search the history every poll
        return None
    entry = next((h for h in reversed(snap.history) if COVERAGE_RECOGNISABLE in h), None)
    if entry is None:
        return None
    noun = RECOGNITION_NOUNS.get(snap.dataset, "classes")
    return (f"**{entry.get(COVERAGE_CLASSES, 0):.0f}/{len(snap.class_names)} {noun} drawn, "
            f"{entry[COVERAGE_RECOGNISABLE]:.0%} recognisable** (a classifier trained on the real images, "
            f"at step {entry.get(STEP, 0):,.0f})")


def _latest(snap: JobSnapshot, key: str) -> dict[str, float] | None:
    """The newest history entry holding `key` (a scan from the end: scores are among the last entries)."""
    return next((h for h in reversed(snap.history) if key in h), None)


def fidelity_line(snap: JobSnapshot) -> str | None:
    """'92% of samples look real · 80% of the real variety covered' from the latest score, else None."""
    entry = _latest(snap, PRECISION)
    if entry is None or RECALL not in entry:
        return None
    return (f"**{entry[PRECISION]:.0%} of samples look real · {entry[RECALL]:.0%} of the real variety covered** "
            f"(precision and recall, k = 3, at step {entry.get(STEP, 0):,.0f})")


def copies_line(snap: JobSnapshot) -> str | None:
    """'2% of samples look like copies of a training image', with the threshold and what was searched, else None."""
    entry = _latest(snap, COPIES)
    if entry is None:
        return None
    searched = entry.get(COPY_REFERENCE)
    where = f" among {searched:,.0f} training images searched" if searched else ""
    return (f"**{entry[COPIES]:.0%} of samples look like copies of a training image** (closer than "
            f"{entry.get(COPY_THRESHOLD, 0):.3f} RMS to one{where}, a bar real images the GAN never saw pass under "
            f"at most {FALSE_COPY_RATE:.0%} of the time; step {entry.get(STEP, 0):,.0f})")


def copies_png(snap: JobSnapshot, min_side: int = 384) -> bytes | None:
    """The likely copies beside their originals, two pairs a row, enlarged; None when the latest score found none."""
    if snap.copies is None:
        return None
    key = ("copies", snap.run_name, len(snap.history), min_side)
    return _memo(key, lambda: png_bytes(upscale(grid_image(snap.copies, nrow=min(4, len(snap.copies))), min_side)))
