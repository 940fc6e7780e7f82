"""Watching a run folder that another process writes: meta.json, metrics.jsonl and grids read into a JobSnapshot."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from ..metric_names import EPOCH, IMAGES_PER_SECOND, STEP, TIME
from .checkpoints import find_checkpoints
from .folders import GRID_DIR, RunInfo, grid_step, list_runs
from .liveness import LIVE, LOST, describe, read_meta, writer_state
from .metrics_log import MetricsTail
from .preview import read_preview
from .snapshot import JobSnapshot

LOST_STATUS = "stopped or lost"  # a watched snapshot's status when its writer went silent (liveness.LOST)


class RunWatcher:
    """Follows one run folder: each poll() reads only what metrics.jsonl gained, meta.json (small) and, when the
    grids folder changed, its listing. Safe to share between threads (one lock); it never writes."""

    def __init__(self, run_dir: str | Path) -> None:
        self.dir = Path(run_dir)
        self.tail = MetricsTail(self.dir)
        self._lock = threading.Lock()
        self._grids_mtime: int | None = None
        self._grid: tuple[int, Path] | None = None  # (step, file) of the newest saved grid

    def poll(self, now: float | None = None) -> JobSnapshot:
        """The run as a JobSnapshot (what the live renderings draw); `elsewhere` says who trains it, or that its
        writer is lost, in which case the status is LOST_STATUS."""
        with self._lock:
            self.tail.read()
            meta = read_meta(self.dir)
            grid, preview = self._newest_grid(), read_preview(self.dir)
            if preview is not None and (grid is None or preview[0] > grid[0]):  # the live preview, when newer
                grid = preview
            return self._snapshot(meta, grid, list(self.tail.history), list(self.tail.alerts), now)

    def _newest_grid(self) -> tuple[int, Path] | None:
        folder = self.dir / GRID_DIR
        try:
            mtime = os.stat(folder).st_mtime_ns
        except OSError:
            return None
        if mtime != self._grids_mtime:  # a new file changes the folder's mtime: list it only then
            steps = [(step, p) for p in folder.glob("*.png") if (step := grid_step(p)) is not None]
            self._grid, self._grids_mtime = max(steps, default=None), mtime
        return self._grid

    def _snapshot(self, meta: dict[str, Any], grid: tuple[int, Path] | None, history: list[dict[str, Any]],
                  alerts: list[dict[str, Any]], now: float | None) -> JobSnapshot:
        state = writer_state(meta, now)
        # The newest loss entry (quality and diversity entries carry no speed); meta.json may be a heartbeat older.
        last = next((h for h in reversed(history) if IMAGES_PER_SECOND in h), {})
        checkpoints = find_checkpoints(self.dir)
        return JobSnapshot(
            run_name=self.dir.name,
            status=LOST_STATUS if state == LOST else str(meta.get("status", "unknown")),
            step=max(int(meta.get("step") or 0), int(history[-1].get(STEP, 0)) if history else 0),
            total_steps=int(meta.get("total_steps") or 0),
            epoch=float(last.get(EPOCH, 0.0)),
            train_seconds=max(float(meta.get("train_seconds") or 0.0), float(last.get(TIME, 0.0))),
            images_per_second=float(last.get(IMAGES_PER_SECOND, 0.0)),
            history=history,
            grid_step=grid[0] if grid else 0,
            grid_file=str(grid[1]) if grid else None,
            alerts=alerts,
            error=meta.get("error"),
            checkpoint=str(checkpoints[0]) if checkpoints else None,
            class_names=list(meta.get("class_names") or []),
            hardware=str(meta.get("hardware") or ""),
            # Images/second counts every torchrun process's images: one step is a global batch.
            batch_size=int(meta.get("global_batch") or meta.get("batch_size") or 0),
            dataset=str(meta.get("dataset") or ""),
            elsewhere=describe(meta, now) if state in (LIVE, LOST) else "",
        )


def runs_elsewhere(root: str | Path | None = None, now: float | None = None) -> list[RunInfo]:
    """Run folders that another process trains in now (liveness LIVE), newest first."""
    return [r for r in list_runs(root) if writer_state(r.meta, now) == LIVE]

