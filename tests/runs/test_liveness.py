"""Who writes a run folder: live, here, lost (silent too long, or its process gone) or finished; the write guard."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from gan_core.errors import UserError
from gan_core.runs.liveness import (
    FINISHED,
    HERE,
    LIVE,
    LOST,
    LOST_AFTER_SECONDS,
    check_not_written_elsewhere,
    describe,
    writer_identity,
    writer_state,
)

NOW = 1_000_000.0
HOST = socket.gethostname()


def meta(status: str = "running", host: str = HOST, pid: int | None = None, age: float = 5.0) -> dict:
    writer = {"host": host, "pid": os.getppid() if pid is None else pid}  # the test's parent: alive
    return {"status": status, "updated": NOW - age, "writer": writer}


def gone_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_this_process_is_named_as_the_writer() -> None:
    assert writer_identity() == {"host": HOST, "pid": os.getpid()}


@pytest.mark.parametrize("status", ["done", "stopped", "failed", "unknown"])
def test_a_final_status_is_finished_whoever_wrote_it(status: str) -> None:
    assert writer_state(meta(status), NOW) == FINISHED and describe(meta(status), NOW) == status


@pytest.mark.parametrize("status", ["loading", "running", "paused", "stopping"])
def test_another_process_that_updated_lately_is_live(status: str) -> None:
    m = meta(status)
    assert writer_state(m, NOW) == LIVE
    assert describe(m, NOW) == f"training elsewhere ({HOST}, pid {os.getppid()})"


def test_this_process_is_here_not_elsewhere() -> None:
    assert writer_state(meta(pid=os.getpid()), NOW) == HERE


def test_no_update_for_too_long_is_lost() -> None:
    assert writer_state(meta(age=LOST_AFTER_SECONDS - 1), NOW) == LIVE
    stale = meta(age=LOST_AFTER_SECONDS + 1)
    assert writer_state(stale, NOW) == LOST
    assert describe(meta(age=600), NOW) == "stopped or lost (no update for 10 min)"


def test_a_writer_gone_from_this_host_is_lost_at_once_and_other_hosts_are_judged_by_time() -> None:
    pid = gone_pid()
    assert writer_state(meta(pid=pid), NOW) == LOST
    assert writer_state(meta(host="another-host", pid=pid), NOW) == LIVE  # its pids are not ours to check
    assert writer_state(meta(host="another-host", pid=pid, age=LOST_AFTER_SECONDS + 1), NOW) == LOST


def test_a_folder_without_writer_or_update_time_is_lost_if_said_active() -> None:
    assert writer_state({"status": "running"}, NOW) == LOST
    assert describe({"status": "running"}, NOW) == "stopped or lost (no update)"


def test_writing_is_refused_only_into_a_folder_another_live_process_writes(tmp_path) -> None:
    def fresh(**kw: object) -> dict:  # updated now: the guard judges by the clock
        return meta(**kw) | {"updated": time.time()}

    with pytest.raises(UserError, match=rf"Run 'r' is training elsewhere \({HOST}, pid {os.getppid()}\): stop it"):
        check_not_written_elsewhere(tmp_path / "r", fresh())
    for free in (fresh(status="done"), fresh(pid=os.getpid()), fresh(pid=gone_pid()), {}):
        check_not_written_elsewhere(tmp_path / "r", free)
