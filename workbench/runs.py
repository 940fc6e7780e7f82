"""The Runs page's data: the runs table, live status, metric histories, the sample timeline and deletion."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import streamlit as st
from PIL import Image

from gan_core.checkpoints import load_checkpoint
from gan_core.errors import CheckpointError, UserError
from gan_core.images import gif_bytes, upscale
from gan_core.job import ACTIVE
from gan_core.metric_names import LOSS_D, LOSS_G, QUALITY
from gan_core.runs import RunInfo, checkpoint_root, delete_run, grid_step, list_runs
from gan_core.timefmt import format_seconds
from workbench.jobs import live_job

# Number formats of the table's metric columns (st.dataframe's column_config).
TABLE_FORMATS = {name: st.column_config.NumberColumn(format="%.3f") for name in (LOSS_D, LOSS_G, QUALITY)}
MISSING = "—"  # how the table shows a value a run does not have (an unscored run's quality), instead of "None"


def runs() -> list[RunInfo]:
    """Every run folder, newest first."""
    return list_runs()


def runs_folder() -> Path:
    return checkpoint_root()


def run_status(run: RunInfo) -> str:
    """The live status while the run trains here, else the one its meta.json recorded."""
    job = live_job(run.name)
    return job.snapshot().status if job is not None else str(run.meta.get("status", "unknown"))


def is_training(status: str) -> bool:
    """Whether a run in this status is still training, here or in another process (it cannot be resumed now)."""
    return status in ACTIVE


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
            LOSS_D: last.get(LOSS_D), LOSS_G: last.get(LOSS_G),
            QUALITY: quality.get(QUALITY), "checkpoints": len(r.checkpoints),
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


def timeline_gif(run: RunInfo) -> bytes:
    """An animated GIF of a run's saved grids (at most 120 frames, evenly spaced), cached by files and mtimes."""
    paths = tuple(str(p) for p in run.grids)
    return _timeline_gif(paths, max((os.stat(p).st_mtime_ns for p in paths), default=0))


@st.cache_data(show_spinner=False, max_entries=8)
def _timeline_gif(paths: tuple[str, ...], newest_mtime_ns: int, min_side: int = 256, duration_ms: int = 150) -> bytes:
    stride = max(1, len(paths) // 120)
    frames = []
    for p in paths[::stride]:
        with Image.open(p) as im:
            frames.append(upscale(im.convert("RGB"), min_side))
    return gif_bytes(frames, duration_ms)
