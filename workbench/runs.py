"""The Runs page's data: the runs table, live status, metric histories, the sample timeline and deletion."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import streamlit as st
from PIL import Image

from gan_core.errors import CheckpointError, UserError
from gan_core.images import gif_bytes, palette_image, upscale
from gan_core.metric_names import LOSS_D, LOSS_G, QUALITY
from gan_core.runs.checkpoints import load_checkpoint
from gan_core.runs.folders import RunInfo, checkpoint_root, delete_run, grid_step, list_runs, run_path
from gan_core.runs.liveness import LIVE, check_not_written_elsewhere, describe, read_meta, writer_label, writer_state
from gan_core.runs.snapshot import JobSnapshot
from gan_core.settings import DOMAINS
from gan_core.timefmt import format_seconds
from workbench import elsewhere
from workbench.charts import direction, score_label
from workbench.jobs import live_job

MAX_STEPS = int(DOMAINS[("train", "steps")].high)  # the Resume tab's "train up to" bound: the steps' own domain
# The table's quality column says which way is better (a bare "quality" read as higher is better).
QUALITY_COLUMN = f"{score_label(QUALITY)}, {direction(QUALITY)}"
# Number formats of the table's metric columns (st.dataframe's column_config).
TABLE_FORMATS = {name: st.column_config.NumberColumn(format="%.3f") for name in (LOSS_D, LOSS_G, QUALITY_COLUMN)}
NEW_RUNS_SECONDS = 3.0  # how often the Runs page looks for run folders made since it was drawn
MISSING = "—"  # how the table shows a value a run does not have (an unscored run's quality), instead of "None"


def runs() -> list[RunInfo]:
    """Every run folder, newest first."""
    return list_runs()


def run_names() -> frozenset[str]:
    """The names in the runs folder (one directory listing, no meta.json read): what the Runs page polls to list a run
    that a CLI started after the page was opened."""
    root = checkpoint_root()
    try:
        return frozenset(p.name for p in root.iterdir() if p.is_dir())
    except OSError:  # no runs folder yet
        return frozenset()


def runs_folder() -> Path:
    return checkpoint_root()


def run_status(run: RunInfo) -> str:
    """The live status while the run trains here, 'training elsewhere (host, pid N)' or 'stopped or lost (...)' for
    another process's run, else the status its meta.json recorded."""
    job = live_job(run.name)
    return job.snapshot().status if job is not None else describe(run.meta)


def busy_note(run: RunInfo) -> str | None:
    """Why the run cannot be resumed or deleted now (it trains, or is paused, here or elsewhere), else None."""
    job = live_job(run.name)
    if job is not None:
        if job.snapshot().status == "paused":
            return "This run is paused: resume or stop it on the Train page."
        return "This run is training: control it on the Train page."
    if writer_state(run.meta) == LIVE:
        return (f"This run is training elsewhere ({writer_label(run.meta)}): control it there; the Train page "
                "shows it live.")
    return None


def any_training(items: Sequence[RunInfo]) -> bool:
    """Whether any of these runs trains now, here or in another process (the Runs page then refreshes its table)."""
    return any(busy_note(r) is not None for r in items)


def _live_snapshot(run: RunInfo) -> JobSnapshot | None:
    """The run's state now: its job's while it trains here, else read through its folder while another process
    trains it (or went silent); None for a finished run (meta.json says all)."""
    job = live_job(run.name)
    if job is not None:
        return job.snapshot()
    return elsewhere.snapshot(run.name) if elsewhere.watched_by_folder(run) else None


def run_progress(run: RunInfo) -> tuple[object, object]:
    """(step, total steps): live while the run trains, here or elsewhere, else what meta.json recorded ('?' if
    nothing): meta.json is rewritten at checkpoints and heartbeats, so it lags a live run."""
    snap = _live_snapshot(run)
    if snap is not None:
        return snap.step, snap.total_steps
    return run.meta.get("step", "?"), run.meta.get("total_steps", "?")


def runs_table(items: Sequence[RunInfo]) -> list[dict[str, Any]]:
    """One row per run for st.dataframe: the meta.json fields, with the live state of a run training now, here or
    in another process."""
    rows = []
    for r in items:
        m, last, quality = r.meta, r.meta.get("last") or {}, r.meta.get("quality") or {}
        snap = _live_snapshot(r)
        if snap is not None and snap.elsewhere:  # the newest logged losses and score, not a heartbeat-old meta's
            last = next((h for h in reversed(snap.history) if LOSS_D in h), last)
            quality = next((h for h in reversed(snap.history) if QUALITY in h), quality)
        rows.append({
            "run": r.name, "status": (snap.elsewhere or snap.status) if snap else m.get("status", "unknown"),
            "data set": m.get("dataset"), "architecture": m.get("arch"), "loss": m.get("loss"),
            "step": snap.step if snap else m.get("step"), "of": snap.total_steps if snap else m.get("total_steps"),
            "time": format_seconds(snap.train_seconds if snap else m.get("train_seconds")),
            LOSS_D: last.get(LOSS_D), LOSS_G: last.get(LOSS_G),
            QUALITY_COLUMN: quality.get(QUALITY), "checkpoints": len(r.checkpoints),
        })
    return rows


@st.cache_data(show_spinner=False, max_entries=64)
def _checkpoint_history(path: str, mtime_ns: int) -> list[dict[str, float]]:
    try:
        return list(load_checkpoint(path).get("history", []))
    except CheckpointError:  # a corrupt newest file: the caller tries the next one
        return []


def run_history(run: RunInfo) -> list[dict[str, float]]:
    """Metric history: from the live job while it trains, from metrics.jsonl while another process trains it, else
    from the newest checkpoint (cached by path+mtime)."""
    snap = _live_snapshot(run)
    if snap is not None:
        return snap.history
    for path in run.checkpoints:
        history = _checkpoint_history(str(path), path.stat().st_mtime_ns)
        if history:
            return history
    return []


def remove_run(name: str) -> None:
    """Delete a run folder; refused (UserError) while that run trains, here or in another process."""
    if live_job(name) is not None:
        raise UserError(f"Run '{name}' is training: stop it on the Train page before deleting it.")
    check_not_written_elsewhere(name, read_meta(run_path(name)))
    delete_run(name)


# ---- Home's cards ---------------------------------------------------------------------------------------------------
OPEN_KEY = "runs_open"  # session key: the run a Home card asked the Runs page to show


def card_grid(run: RunInfo) -> Path | None:
    """The grid a run's card shows: its newest, unless that is only the first step's (untrained noise, a grey
    blur) of a run that trained further and ended without a later grid (runs saved before grids were kept at stop)."""
    grids = run.grids
    if not grids:
        return None
    if grid_step(grids[-1]) == 1 and int(run.meta.get("step") or 0) > 1:
        return None
    return grids[-1]


def open_in_runs(name: str) -> None:
    """Ask the Runs page to show run `name` on its next run (a Home card's button)."""
    st.session_state[OPEN_KEY] = name


def take_opened() -> str | None:
    """The run a card asked for, once (then forgotten), or None."""
    return st.session_state.pop(OPEN_KEY, None)


# ---- the sample timeline -------------------------------------------------------------------------------------------
def timeline_steps(run: RunInfo) -> list[int]:
    """The steps of the run's saved grids, oldest first (the same order as run.grids)."""
    return [step for step in map(grid_step, run.grids) if step is not None]


def timeline_image(run: RunInfo, step: int, min_side: int = 384) -> Image.Image:
    """The grid saved at `step`, enlarged."""
    path = next(p for p in run.grids if grid_step(p) == step)
    with Image.open(path) as im:
        return upscale(im.convert("RGB"), min_side)


GifProgress = Callable[[float, str], None]  # (fraction done, what is being done)


def timeline_gif(run: RunInfo, progress: GifProgress | None = None, min_side: int = 256,
                 duration_ms: int = 150) -> bytes:
    """An animated GIF of a run's saved grids (at most 120 frames, evenly spaced); progress is told of each frame.
    Not cached: the Runs page makes it on request and keeps it in the session (a progress bar cannot be replayed)."""
    paths = run.grids[::max(1, len(run.grids) // 120)]
    frames = []
    for i, p in enumerate(paths):
        if progress is not None:
            progress(i / len(paths), f"Frame {i + 1:,} of {len(paths):,}")
        with Image.open(p) as im:
            frames.append(upscale(palette_image(im), min_side))  # the palette on the small grid: 4x fewer pixels
    if progress is not None:
        progress(1.0, "Writing the GIF")
    return gif_bytes(frames, duration_ms)
