"""Runs trained by other processes (the CLI, torchrun, another app): shared folder watchers and which one to show."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import streamlit as st

from gan_core.runs.folders import RunInfo, run_path
from gan_core.runs.liveness import LIVE, LOST, read_meta, writer_label, writer_state
from gan_core.runs.snapshot import JobSnapshot
from gan_core.runs.watch import RunWatcher, runs_elsewhere

WATCH_KEY = "train_watch_run"  # session key of the Train page's choice among the runs training elsewhere
_lock = threading.Lock()


MAX_WATCHERS = 8  # folders followed at once; the least recently polled watcher (and its history) is dropped first


@st.cache_resource(show_spinner=False)
def _watchers() -> OrderedDict[str, RunWatcher]:
    """One watcher per run folder for the whole process: every tab polling a run reads each new byte once."""
    return OrderedDict()


def snapshot(name: str) -> JobSnapshot:
    """The run folder `name` as another process has written it so far (read incrementally). Only runs written now
    keep a watcher; an ended or lost run is read once per call (its folder no longer grows)."""
    path = run_path(name)
    with _lock:
        watchers = _watchers()
        watcher = watchers.pop(str(path), None) or RunWatcher(path)
    snap = watcher.poll()
    if writer_state(read_meta(path)) == LIVE:
        with _lock:
            watchers[str(path)] = watcher  # newest last
            while len(watchers) > MAX_WATCHERS:
                watchers.popitem(last=False)
    return snap


def training_elsewhere() -> list[tuple[str, str]]:
    """(run name, "host, pid") of each run another process trains into this app's checkpoints folder now."""
    return [(r.name, writer_label(r.meta)) for r in runs_elsewhere()]


def follow(name: str) -> Callable[[], JobSnapshot]:
    """What a live panel polls to show run `name` through its folder."""
    return lambda: snapshot(name)


def watched_by_folder(run: RunInfo) -> bool:
    """Whether the run's meta.json says another process trains it, live or gone silent (read through its folder)."""
    return writer_state(run.meta) in (LIVE, LOST)


def choices(own: JobSnapshot | None) -> list[str]:
    """What the Train page can show: nothing to choose while this app trains (own is active); else this session's
    own last run (if any), the runs training elsewhere now (newest first), and the one this session picked before,
    even once it has ended."""
    if own is not None and own.active:
        return []
    names = [own.run_name] if own is not None else []
    names += [r.name for r in runs_elsewhere() if r.name not in names]
    picked = st.session_state.get(WATCH_KEY)
    if picked and picked not in names and run_path(picked).is_dir():
        names.append(picked)
    return names
