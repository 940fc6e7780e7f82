"""Who writes a run folder and whether it still does: the writer's identity, its heartbeat and the lost-run rule."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import UserError

ACTIVE = ("loading", "running", "paused", "stopping")  # statuses of a run whose writer is still at work
TIME_LIMIT = "stopped at its time limit"  # the status of a run ended by max_seconds (not "done" at step 231 of 8,000)
ENDED = ("done", "stopped", TIME_LIMIT)  # the statuses of a run that ended by itself or by a stop, not by a failure


def end_status(reason: str) -> str:
    """The status a run ends with, from Trainer.run's reason ("done", "time" or "stopped")."""
    return {"stopped": "stopped", "time": TIME_LIMIT}.get(reason, "done")
HEARTBEAT_SECONDS = 30.0  # a running writer rewrites meta.json ("updated") at least this often
LOST_AFTER_SECONDS = 180.0  # no update for this long: the writer is taken as stopped or lost (6 missed heartbeats)
META_FILE = "meta.json"  # in each run folder: config, status, writer, heartbeat
WRITER = "writer"  # meta.json key: {"host": ..., "pid": ...} of the process writing the folder

# What writer_state says about a run folder.
FINISHED = "finished"  # its meta status is final (done, stopped, failed) or unknown
HERE = "here"  # written by this very process (the app's own job)
LIVE = "live"  # written by another process that updated it lately
LOST = "lost"  # said to be active, but no update for LOST_AFTER_SECONDS, or its process is gone from this host


def writer_identity() -> dict[str, Any]:
    """This process as meta.json records its writer."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _pid_gone(pid: int) -> bool:
    """True when no process `pid` exists on this machine (Windows: never said, os.kill there would end it)."""
    if os.name == "nt":
        return False
    try:
        os.kill(pid, 0)  # signal 0: an existence check, nothing is sent
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: it exists, but belongs to another user
        return False
    return False


def writer_state(meta: Mapping[str, Any], now: float | None = None, lost_after: float = LOST_AFTER_SECONDS) -> str:
    """FINISHED, HERE, LIVE or LOST for a run folder's meta.json (see the constants)."""
    if meta.get("status") not in ACTIVE:
        return FINISHED
    writer = meta.get(WRITER) or {}
    host, pid = writer.get("host"), writer.get("pid")
    same_host = host == socket.gethostname()
    if same_host and pid == os.getpid():
        return HERE
    if same_host and isinstance(pid, int) and _pid_gone(pid):
        return LOST
    updated = meta.get("updated")
    now = time.time() if now is None else now
    if not isinstance(updated, (int, float)) or now - updated > lost_after:
        return LOST
    return LIVE


def writer_label(meta: Mapping[str, Any]) -> str:
    """'host, pid 123' of the meta's writer ('unknown process' for folders written before writers were named)."""
    writer = meta.get(WRITER) or {}
    if not writer.get("host"):
        return "unknown process"
    return f"{writer['host']}, pid {writer.get('pid', '?')}"


def describe(meta: Mapping[str, Any], now: float | None = None) -> str:
    """A run's status in words, for runs not trained by this process: 'training elsewhere (host, pid 123)',
    'stopped or lost (no update for 5 min)', or the status meta.json records."""
    state = writer_state(meta, now)
    if state == LIVE:
        return f"training elsewhere ({writer_label(meta)})"
    if state == LOST:
        updated = meta.get("updated")
        now = time.time() if now is None else now
        since = f"no update for {(now - updated) / 60:.0f} min" if isinstance(updated, (int, float)) else "no update"
        return f"stopped or lost ({since})"
    return str(meta.get("status", "unknown"))


def check_not_written_elsewhere(run_dir: str | Path, meta: Mapping[str, Any]) -> None:
    """Refuse (UserError) to write into a run folder that another process is training in."""
    if writer_state(meta) == LIVE:
        raise UserError(f"Run '{Path(run_dir).name}' is training elsewhere ({writer_label(meta)}): stop it there "
                        f"first, or wait until it has not updated its folder for {LOST_AFTER_SECONDS / 60:.0f} "
                        "minutes if that process is gone.")


def read_meta(run_dir: Path) -> dict[str, Any]:
    """A run folder's meta.json as a dict; {} when it is missing or unreadable."""
    try:
        meta = json.loads((Path(run_dir) / META_FILE).read_text())
        return meta if isinstance(meta, dict) else {}
    except (OSError, ValueError):
        return {}


def written_elsewhere(run_dir: Path) -> bool:
    """Whether another live process trains in this run folder (nothing here may write into it)."""
    return writer_state(read_meta(run_dir)) == LIVE
