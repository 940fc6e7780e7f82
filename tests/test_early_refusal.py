"""A run folder another live process writes is refused early: by the CLI before it loads any data, and by the app's
resume before a job starts (the run writer would refuse later too, after the data set was loaded for nothing)."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
from conftest import make_run

from gan_core.cli.commands import main
from gan_core.errors import UserError
from gan_core.runs.folders import RunInfo
from gan_core.runs.liveness import META_FILE, read_meta
from gan_core.train import trainer as trainer_module
from workbench import jobs


def claim_for_another_process(run_dir: Path) -> dict:
    """meta.json naming the test's parent process (alive, not this one) as the writer, updated now."""
    meta = {**read_meta(run_dir), "status": "running", "updated": time.time(),
            "writer": {"host": socket.gethostname(), "pid": os.getppid()}}
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / META_FILE).write_text(json.dumps(meta))
    return meta


class NothingLoaded(AssertionError):
    """Raised where the data set would be loaded: the refusal came too late."""


def test_the_cli_refuses_a_folder_written_elsewhere_before_loading_data(tmp_path, monkeypatch, capsys) -> None:
    run = tmp_path / "theirs"
    meta = claim_for_another_process(run)

    def no_trainer(*args: object, **kwargs: object) -> None:
        raise NothingLoaded("the Trainer (and its data set) was built before the refusal")

    monkeypatch.setattr(trainer_module, "Trainer", no_trainer)
    assert main(["train", "--dataset", "shapes", "--arch", "mlp", "--steps", "5", "--out", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "training" in err[0].lower(), err
    assert read_meta(run) == meta  # untouched


def test_the_cli_resume_refuses_a_folder_written_elsewhere_before_loading_data(monkeypatch, capsys) -> None:
    run = make_run("resumed-elsewhere", steps=4)
    meta = claim_for_another_process(run)
    monkeypatch.setattr(trainer_module, "Trainer", lambda *a, **k: (_ for _ in ()).throw(NothingLoaded()))
    assert main(["train", "--resume", str(run), "--steps", "8"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert read_meta(run) == meta


def test_the_app_resume_refuses_a_folder_written_elsewhere_before_starting_a_job(monkeypatch) -> None:
    run = make_run("app-resumed-elsewhere", steps=4)
    claim_for_another_process(run)

    class Registry:
        def start(self, *args: object, **kwargs: object) -> None:
            raise NothingLoaded("a job was started (it would load the data set) before the refusal")

    monkeypatch.setattr(jobs, "job_registry", Registry)
    with pytest.raises(UserError, match="training"):
        jobs.resume_training(RunInfo(run.name, run, read_meta(run)), 8)
