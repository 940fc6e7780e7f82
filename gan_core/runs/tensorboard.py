"""TensorBoard event files in the run folder: metric curves, fixed-noise grids, config text and hparams."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from ..metric_names import EPOCH, QUALITY, STEP, TIME

log = logging.getLogger(__name__)
GRID_TAG = "samples/fixed noise"  # the fixed-noise grid, one image per grid step
CONFIG_TAG = "config"
NOT_SCALARS = (STEP, EPOCH, TIME)  # bookkeeping fields of a history entry, not curves
_warned = False  # "tensorboard is missing" is said once per process


def summary_writer_class() -> Any | None:
    """torch's SummaryWriter, or None (said once in the log) when the tensorboard package is not installed."""
    global _warned
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch raises ImportError naming tensorboard when it is absent
        if not _warned:
            log.warning("TensorBoard logs are off: the tensorboard package is not installed (pip install tensorboard).")
            _warned = True
        return None
    return SummaryWriter


def flat_hparams(config: dict[str, Any], prefix: str = "") -> dict[str, bool | int | float | str]:
    """{'train.lr_g': 0.0004, ...}: nested config dicts flattened to the value types the hparams plugin takes.
    Unset (None) values are left out: as the text "None" they would turn a numeric column of other runs into text."""
    out: dict[str, bool | int | float | str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_hparams(value, f"{name}."))
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
        elif value is not None:  # lists and the like: shown as text
            out[name] = str(value)
    return out


class TensorBoardLog:
    """A trainer hook (start, on_step(trainer), add_grid, flush, finish) writing what is new since its last call.

    On resume it starts after the checkpoint's step: history entries the checkpoint holds were written by the earlier
    process, and events beyond the checkpoint (written before a crash) are purged by TensorBoard (purge_step)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.dir = Path(run_dir)
        self.writer: Any | None = None
        self.seen = 0  # history entries written so far (trainer.history only ever grows)

    def start(self, trainer: Any) -> None:
        writer_class = summary_writer_class()
        if writer_class is None:
            return
        step = int(trainer.step_count)
        # purge_step: a resumed run drops the old file's events after the checkpoint (no duplicate steps).
        self.writer = writer_class(str(self.dir), purge_step=step + 1 if step else None)
        self.seen = len(trainer.history)
        self.writer.add_text(CONFIG_TAG, config_markdown(trainer.config.to_dict()), step)

    def on_step(self, trainer: Any) -> None:
        """Write the history entries that are new since the last call."""
        if self.writer is None:
            return
        self._write_history(trainer)

    def add_grid(self, step: int, png: bytes, width: int, height: int) -> None:
        """The fixed-noise grid as the PNG the run folder saves (add_image would encode it a second time)."""
        if self.writer is None:
            return
        from tensorboard.compat.proto.summary_pb2 import Summary  # present whenever the writer is

        image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=png)
        self.writer.file_writer.add_summary(Summary(value=[Summary.Value(tag=GRID_TAG, image=image)]), step)

    def flush(self) -> None:
        """To disk now (the writer otherwise flushes every 120 s): called with each checkpoint, so a checkpoint is
        rarely ahead of the curves on disk."""
        if self.writer is not None:
            self.writer.flush()

    def finish(self, trainer: Any, status: str) -> None:
        """The last metrics (Trainer.run flushes some after the final hook call), hparams with the final quality."""
        if self.writer is None:
            return
        self._write_history(trainer)
        self._write_hparams(trainer.config.to_dict(), final_quality(trainer.history))
        self.writer.close()
        self.writer = None

    def _write_history(self, trainer: Any) -> None:
        if len(trainer.history) == self.seen:  # called after every step: most steps log nothing
            return
        from tensorboard.compat.proto.summary_pb2 import Summary

        for entry in trainer.history[self.seen:]:
            # One event per entry with all its scalars: a third of the cost of add_scalar per metric.
            values = [Summary.Value(tag=k, simple_value=float(v)) for k, v in entry.items() if k not in NOT_SCALARS]
            self.writer.file_writer.add_summary(Summary(value=values), int(entry[STEP]))
        self.seen = len(trainer.history)

    def _write_hparams(self, config: dict[str, Any], quality: float | None) -> None:
        from torch.utils.tensorboard.summary import hparams

        # Into this run's own file (SummaryWriter.add_hparams would make a sub-run); the metric is read back from
        # the run's own "quality" curve, so it is named here and not written a second time.
        metrics = {QUALITY: quality} if quality is not None else {}
        for summary in hparams(flat_hparams(config), metrics):
            self.writer.file_writer.add_summary(summary)


def final_quality(history: list[dict[str, float]]) -> float | None:
    """The newest finite quality score in a run's history, or None when it has none."""
    value = next((h[QUALITY] for h in reversed(history) if QUALITY in h), None)
    return float(value) if value is not None and math.isfinite(value) else None


def config_markdown(config: dict[str, Any]) -> str:
    """The run's config as a fenced JSON block: TensorBoard's text tab renders markdown."""
    body = json.dumps(config, indent=2, default=str)
    return "```\n" + body + "\n```"
