"""A run's status record: where it stands, worked out in one place from a trainer (this process) or from a run
folder's meta.json (any process), and fed to meta.json, the job snapshot, the folder watcher and the Runs table."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..metric_names import EPOCH, IMAGES_PER_SECOND, STEP, TIME
from .liveness import ACTIVE, LIVE, LOST, describe, writer_state

LOST_STATUS = "stopped or lost"  # the status of a run said to be active whose writer went silent (liveness.LOST)


def newest_speed_entry(history: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The newest loss entry (it carries the speed); quality and diversity entries are appended after it on some
    steps. {} before the first log."""
    return next((h for h in reversed(history) if IMAGES_PER_SECOND in h), {})


@dataclass
class RunStatus:
    """Where a run stands: its status, progress, speed and what it trains on. The job's snapshot extends it."""

    run_name: str
    status: str  # loading | running | paused | stopping | done | stopped | failed | TIME_LIMIT | LOST_STATUS
    step: int = 0
    total_steps: int = 0
    epoch: float = 0.0
    train_seconds: float = 0.0
    images_per_second: float = 0.0
    batch_size: int = 0  # images per step (all torchrun processes' for a folder read back; halved after OOM)
    dataset: str = ""  # the data set's name (DataConfig.name)
    hardware: str = ""  # Trainer.hardware: device, threads, precision
    class_names: list[str] = field(default_factory=list)
    error: str | None = None
    elsewhere: str = ""  # a run trained by another process: liveness.describe's words, e.g. "training elsewhere (...)"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def label(self) -> str:
        """The status in words: who trains it elsewhere, that its writer went silent, or the status itself."""
        return self.elsewhere or self.status

    @classmethod
    def of_trainer(cls, run_name: str, trainer: Any, status: str, error: str | None = None) -> RunStatus:
        """The status of a run this process trains (trainer: a Trainer; any object with its attributes)."""
        return cls(run_name, status, trainer.step_count, trainer.total_steps, trainer.epoch, trainer.train_seconds,
                   float(newest_speed_entry(trainer.history).get(IMAGES_PER_SECOND, 0.0)), trainer.batch_size,
                   trainer.config.data.name, trainer.hardware, list(trainer.data.class_names or []), error)

    @classmethod
    def of_meta(cls, run_name: str, meta: Mapping[str, Any], history: Sequence[Mapping[str, Any]] = (),
                now: float | None = None) -> RunStatus:
        """The status of a run read through its folder: meta.json, and the metrics log's history where read
        (meta.json is rewritten at checkpoints and heartbeats, so it lags a live run: the newer of both counts)."""
        state = writer_state(meta, now)
        last = newest_speed_entry(history)
        return cls(
            run_name=run_name,
            status=LOST_STATUS if state == LOST else str(meta.get("status", "unknown")),
            step=max(int(meta.get("step") or 0), int(history[-1].get(STEP, 0)) if history else 0),
            total_steps=int(meta.get("total_steps") or 0),
            epoch=float(last.get(EPOCH, 0.0)),
            train_seconds=max(float(meta.get("train_seconds") or 0.0), float(last.get(TIME, 0.0))),
            images_per_second=float(last.get(IMAGES_PER_SECOND, 0.0)),
            # Images/second counts every torchrun process's images: one step is a global batch.
            batch_size=int(meta.get("global_batch") or meta.get("batch_size") or 0),
            dataset=str(meta.get("dataset") or ""),
            hardware=str(meta.get("hardware") or ""),
            class_names=list(meta.get("class_names") or []),
            error=meta.get("error"),
            elsewhere=describe(meta, now) if state in (LIVE, LOST) else "",
        )

    def meta_fields(self) -> dict[str, Any]:
        """The fields meta.json records of it (what of_meta reads back)."""
        return {"name": self.run_name, "status": self.status, "error": self.error, "dataset": self.dataset,
                "step": self.step, "total_steps": self.total_steps, "train_seconds": round(self.train_seconds, 2),
                "batch_size": self.batch_size, "hardware": self.hardware, "class_names": list(self.class_names)}

    def status_fields(self) -> dict[str, Any]:
        """Its fields as keyword arguments (a JobSnapshot made from it, or updated with it)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(RunStatus)}
