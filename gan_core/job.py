"""TrainingJob: one daemon thread around a Trainer, commands in (pause/resume/stop), snapshots out under a lock."""

from __future__ import annotations

import copy
import logging
import threading
import time
import traceback
from pathlib import Path
from typing import Any

# Imported here, on the thread that creates jobs, because its import builds ASTs (inspect.signature) and np.unique
# imports it lazily: on Python 3.11.7 two threads building ASTs at once can fail one of them ("AST constructor
# recursion depth mismatch", CPython gh-106905), e.g. a training thread drawing shapes while Streamlit parses a page.
import numpy.ma  # noqa: F401

from .config import RunConfig
from .data import ImageData
from .errors import UserError, disk_error
from .models import Generator
from .runs.checkpoints import clean_temp_files, load_checkpoint
from .runs.folders import RunWriter, delete_run
from .runs.liveness import ACTIVE, end_status
from .runs.snapshot import JobSnapshot
from .runs.status import RunStatus
from .sampling import snapshot
from .train.callbacks import FINAL_SCORE_MESSAGE, GRID, LOG, PREVIEW, SCORED, FixedNoiseGrid, QualityScore, find
from .train.point_callbacks import FRAME
from .train.trainer import Trainer

log = logging.getLogger(__name__)
NOTHING_KEPT = "Stopped before the first step: nothing was trained, so no run was kept."


class TrainingJob:
    """Runs a Trainer in a daemon thread. The thread never touches the UI: it only writes this object's fields."""

    def __init__(self, config: RunConfig, run_dir: str | Path, resume_from: str | Path | None = None,
                 data: ImageData | None = None):
        self.config = config
        self.run_dir = Path(run_dir)
        self.resume_from = resume_from
        self._data = data
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._step_request = threading.Event()  # step mode: one step while paused
        self._parked_now = threading.Event()  # set each time the paused thread starts waiting (step mode waits on it)
        self._delay = 0.0  # slow motion: seconds of wait after each step
        self._gen_request = threading.Event()
        self._gen_ready = threading.Event()
        self._generator: Generator | None = None
        self.data: ImageData | None = data  # the data set the thread trains on, once loaded (reusable by the next run)
        self._snap = JobSnapshot(self.run_dir.name, "loading", total_steps=0, dataset=config.data.name)
        self._thread = threading.Thread(target=self._main, name=f"train-{self.run_dir.name}", daemon=True)

    # ---- commands (any thread) ------------------------------------------------------------------
    def start(self) -> TrainingJob:
        self._thread.start()
        return self

    def pause(self) -> None:
        if self.snapshot().status == "running":
            self._paused.set()
            self._set(status="paused")

    def resume(self) -> None:
        if self._paused.is_set():
            self._paused.clear()
            self._set(status="running")

    def step_once(self, wait: float = 3.0) -> bool:
        """Step mode: a paused run trains exactly one more step (its picture published), then is paused again.

        Waits up to `wait` seconds for that step, so the page rerun that follows a click shows it (a fragment's poll
        could otherwise be the only redraw); returns whether the thread was parked again in time."""
        if not self._paused.is_set():
            return False
        self._parked_now.clear()
        self._step_request.set()
        return self._parked_now.wait(wait)

    def set_step_delay(self, seconds: float) -> None:
        """Slow motion: wait this long after each step (0: full speed); the wait is not training time."""
        self._delay = max(0.0, float(seconds))
        self._set(step_delay=self._delay)

    def stop(self) -> None:
        """Ask the thread to save and end; returns at once (join() waits)."""
        self._stop.set()
        self._paused.clear()
        with self._lock:
            if self._snap.status in ACTIVE:
                self._snap.status = "stopping"

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def parked(self) -> bool:
        """The thread waits in its pause: no step in flight (the status says "paused" from the command on)."""
        with self._lock:
            return self._snap.parked

    def snapshot(self) -> JobSnapshot:
        """A shallow copy with copied lists; history entries are never mutated after they are appended."""
        with self._lock:
            s = copy.copy(self._snap)
            s.history = list(s.history)
            s.alerts = list(s.alerts)
            return s

    def generator(self, timeout: float = 10.0) -> Generator | None:
        """A CPU copy of the sampling generator, made by the training thread between steps (never mid-update)."""
        if not self.alive or self.snapshot().status == "loading":
            return self._generator
        self._gen_ready.clear()
        self._gen_request.set()
        self._gen_ready.wait(timeout)
        return self._generator

    # ---- the training thread ----------------------------------------------------------------------
    def _set(self, **fields: Any) -> None:
        with self._lock:
            for k, v in fields.items():
                setattr(self._snap, k, v)

    def _main(self) -> None:
        trainer = writer = None
        try:
            clean_temp_files(self.run_dir.parent) if self.run_dir.parent.is_dir() else None
            trainer = Trainer(self.config, self._data, progress=lambda f, msg: self._set(message=msg))
            if self.resume_from is not None:
                trainer.load_state_dict(load_checkpoint(self.resume_from, trainer.device))
            self.data = trainer.data
            if self._stop.is_set() and self.resume_from is None:  # stopped while loading: no step, no run to keep
                self._set(status="stopped", message=NOTHING_KEPT)
                return
            writer = RunWriter(self.run_dir)
            writer.start(trainer)
            self._publish(trainer, {LOG, GRID}, writer)
            self._set(status="running" if not self._paused.is_set() else "paused",
                      message=" ".join(trainer.data.notices))

            scoring = find(trainer.callbacks, QualityScore)
            grid = find(trainer.callbacks, FixedNoiseGrid)

            def on_step(t: Trainer, events: set[str]) -> None:
                writer.on_step(t, events)
                self._publish(t, events, writer)
                if t.step_count == t.total_steps and scoring is not None and scoring.busy:
                    self._set(message=FINAL_SCORE_MESSAGE)  # the run ends when the score of its last step is in
                self._serve_generator(t)
                if self._delay and not self._paused.is_set():
                    self._stop.wait(self._delay)  # slow motion; a stop ends the wait at once
                if self._paused.is_set() and grid is not None and t.latest_grid is not None:
                    # Paused: the picture of the step it paused at (the last preview may be seconds of steps older).
                    if self.snapshot().grid_step != t.step_count:
                        t.latest_grid = grid.render(t)
                        self._publish(t, {PREVIEW}, writer)
                parked = False
                while self._paused.is_set() and not self._stop.is_set():
                    if self._step_request.is_set():  # step mode: this one step, then paused again
                        self._step_request.clear()
                        break
                    if not parked:
                        parked = True
                        self._set(parked=True)
                        self._parked_now.set()
                    self._serve_generator(t)
                    writer.heartbeat(t, "paused")  # readers elsewhere see it paused, and alive
                    time.sleep(0.05)
                if parked:
                    self._set(parked=False)

            reason = trainer.run(self._stop.is_set, on_step)
            status = end_status(reason)
            if trainer.step_count == 0 and self.resume_from is None:  # stopped before its first step: keep nothing
                writer.finish(trainer, status)  # closes its files (TensorBoard) before the folder goes
                delete_run(self.run_dir.name, self.run_dir.parent)
                self._set(status="stopped", message=NOTHING_KEPT)
                return
            writer.finish(trainer, status)
            self._publish(trainer, {LOG, GRID}, writer)
            self._set(status=status, error=writer.save_error,
                      message="" if self.snapshot().message == FINAL_SCORE_MESSAGE else self.snapshot().message)
        except UserError as e:
            self._fail(trainer, writer, str(e))
        except Exception as e:  # noqa: BLE001 - any failure must reach the page, not kill the server
            disk = disk_error(e)
            if disk is None:
                log.error("training thread failed:\n%s", traceback.format_exc())
            self._fail(trainer, writer, str(disk) if disk is not None else f"{type(e).__name__}: {e}")
        finally:
            if trainer is not None:
                self._generator = snapshot(trainer.sampler) if trainer.weights_finite() else None
            self._gen_ready.set()

    def _fail(self, trainer: Trainer | None, writer: RunWriter | None, message: str) -> None:
        if trainer is not None and writer is not None:
            try:
                writer.finish(trainer, "failed", message)
            except Exception:  # noqa: BLE001 - the original error is the one to show
                log.exception("could not write the failed run's meta")
            self._publish(trainer, {LOG}, writer)
        # A failure while loading also ends the loading line ("Downloading MNIST into ..."): it no longer happens.
        self._set(status="failed", error=message, **({"message": ""} if trainer is None else {}))

    def _serve_generator(self, trainer: Trainer) -> None:
        if self._gen_request.is_set():
            self._gen_request.clear()
            self._generator = snapshot(trainer.sampler)
            self._gen_ready.set()

    def _publish(self, t: Trainer, events: set[str], writer: RunWriter | None) -> None:
        with self._lock:
            s = self._snap
            # The status and error stay the job's own (commands and endings set them); the rest is the trainer's.
            for name, value in RunStatus.of_trainer(s.run_name, t, s.status, s.error).status_fields().items():
                setattr(s, name, value)
            if LOG in events:
                s.history = list(t.history)
                s.alerts = list(t.alerts)
            if events & {GRID, PREVIEW} and t.latest_grid is not None:
                s.grid, s.grid_step = t.latest_grid, t.step_count
            if FRAME in events:
                s.frame = t.latest_frame
            if SCORED in events:
                s.copies = t.latest_copies
            if writer is not None and writer.last_checkpoint is not None:
                s.checkpoint = str(writer.last_checkpoint)


class JobRegistry:
    """All jobs of this process by run name; at most one trains at a time (a second start is refused)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # start() holds it across refuse_if_busy(), which takes it too
        self.jobs: dict[str, TrainingJob] = {}

    def active(self) -> TrainingJob | None:
        with self._lock:
            return next((j for j in self.jobs.values() if j.alive), None)

    def refuse_if_busy(self) -> None:
        """UserError naming the run that trains (or is paused), if one does: only one run trains at a time."""
        busy = self.active()
        if busy is not None:
            if busy.snapshot().status == "paused":
                raise UserError(f"Run '{busy.run_dir.name}' is paused, not finished: stop it on the Train page "
                                "before starting another.")
            raise UserError(f"Run '{busy.run_dir.name}' is still training: stop it before starting another.")

    def start(self, config: RunConfig, run_dir: str | Path, resume_from: str | Path | None = None,
              data: ImageData | None = None) -> TrainingJob:
        """Start a job unless one is training (UserError); the check and the start are one atomic step."""
        with self._lock:
            self.refuse_if_busy()
            job = TrainingJob(config, run_dir, resume_from, data)
            self.jobs[job.run_dir.name] = job
            return job.start()

    def get(self, name: str) -> TrainingJob | None:
        with self._lock:
            return self.jobs.get(name)
