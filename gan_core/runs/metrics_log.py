"""metrics.jsonl in a run folder: the writer appends whole JSON lines, the reader tails them from a byte offset."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from ..fileio import write_atomic

METRICS_FILE = "metrics.jsonl"
ALERT = "alert"  # key of an alert record ({"alert": {"kind", "step", "message"}}); any other line is a history entry


def record_lines(history: Sequence[dict[str, Any]], alerts: Sequence[dict[str, Any]]) -> bytes:
    """History entries as they are, then alerts wrapped under ALERT: one JSON object per line, each ending in \\n."""
    records = [*history, *({ALERT: a} for a in alerts)]
    return "".join(json.dumps(r, default=float) + "\n" for r in records).encode()


class MetricsLog:
    """A trainer hook (start, on_step, finish) appending what the trainer's history and alerts gained since its last
    call. Each call is one write and one flush of whole lines, so a reader sees every record whole or not yet (a
    partial last line at most, which it leaves for later). No fsync per call: a log comes every few steps, and a
    reader on the same machine sees flushed data; finish() fsyncs for durability."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / METRICS_FILE
        self._file: IO[bytes] | None = None
        self._logged = 0  # history entries written so far
        self._alerted = 0  # alerts written so far

    def start(self, trainer: Any) -> None:
        """A fresh file holding the trainer's history so far (a resumed run's history is its checkpoint's: records
        a crashed process wrote after that checkpoint are dropped, as TensorBoard drops its events)."""
        write_atomic(self.path, record_lines(trainer.history, trainer.alerts))
        self._logged, self._alerted = len(trainer.history), len(trainer.alerts)
        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the run, closed by finish()

    def on_step(self, trainer: Any, events: set[str] | None = None) -> None:
        """Append new entries and alerts, if any (two length checks on steps without any)."""
        if self._file is None or (len(trainer.history) == self._logged and len(trainer.alerts) == self._alerted):
            return
        data = record_lines(trainer.history[self._logged:], trainer.alerts[self._alerted:])
        self._logged, self._alerted = len(trainer.history), len(trainer.alerts)
        self._file.write(data)
        self._file.flush()

    def finish(self, trainer: Any) -> None:
        if self._file is None:
            return
        try:
            self.on_step(trainer)
            os.fsync(self._file.fileno())
        finally:
            self._file.close()
            self._file = None


class MetricsTail:
    """Reads a run's metrics.jsonl incrementally: only the bytes added since the last read, complete lines only.

    A file replaced since (a resumed run starts a fresh one) or shorter than what was read is read again from the
    start; lines that do not parse (a foreign or damaged line) are skipped."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / METRICS_FILE
        self.offset = 0  # bytes consumed: always the end of a complete line
        self.inode: int | None = None
        self.history: list[dict[str, Any]] = []
        self.alerts: list[dict[str, Any]] = []

    def read(self) -> bool:
        """Take in what the file gained; True when the history or alerts changed."""
        try:
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())  # of the file opened: it may have been replaced since any earlier look
                changed = False
                if st.st_ino != self.inode or st.st_size < self.offset:
                    changed = bool(self.history or self.alerts)
                    self.inode, self.offset, self.history, self.alerts = st.st_ino, 0, [], []
                f.seek(self.offset)
                data = f.read(st.st_size - self.offset)
        except OSError:
            return False
        end = data.rfind(b"\n") + 1  # a trailing line without its newline is still being written: next time
        for line in data[:end].splitlines():
            self._take(line)
        self.offset += end
        return changed or end > 0

    def _take(self, line: bytes) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            return
        if not isinstance(record, dict):
            return
        if ALERT in record:
            if isinstance(record[ALERT], dict):
                self.alerts.append(record[ALERT])
        else:
            self.history.append(record)
