"""Run folders: the writer's grids, checkpoints and meta.json, grid file names, run listing, safe names and paths."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
from conftest import tiny_config

from gan_core.errors import ConfigError, UserError
from gan_core.fileio import TEMP_PREFIX
from gan_core.runs.checkpoints import find_checkpoints, load_checkpoint
from gan_core.runs.folders import (
    GRID_DIR,
    RunInfo,
    RunWriter,
    checkpoint_root,
    delete_run,
    grid_path,
    grid_step,
    list_runs,
    new_run_name,
    read_meta,
    run_path,
)
from gan_core.runs.liveness import HEARTBEAT_SECONDS, META_FILE
from gan_core.train.trainer import Trainer


def test_run_writer_keeps_newest_checkpoints_grids_and_meta(tmp_path) -> None:
    tr = Trainer(tiny_config(steps=40, checkpoint_every=10, sample_every=10))
    writer = RunWriter(tmp_path / "runs" / "r1", keep=2)
    writer.start(tr)
    tr.run(on_step=writer.on_step)
    writer.finish(tr, "done")
    names = [p.name for p in find_checkpoints(tmp_path / "runs" / "r1")]
    assert names == ["ckpt-0000040.pt", "ckpt-0000030.pt"]
    assert len(list((tmp_path / "runs" / "r1" / "grids").glob("step-*.png"))) == 5  # step 1 and every 10 steps
    meta = json.loads((tmp_path / "runs" / "r1" / "meta.json").read_text())
    assert meta["status"] == "done" and meta["step"] == 40 and "loss/D" in meta["last"]
    runs = list_runs(tmp_path / "runs")  # not tmp_path: the data folder (shapes cache) is there
    assert [r.name for r in runs] == ["r1"] and len(runs[0].grids) == 5


@pytest.mark.parametrize("name", ["..", "../evil", "a/b", "/abs/path", "", ".hidden", "a\\b", "x" * 200])
def test_bad_run_names_are_refused(tmp_path, name: str) -> None:
    with pytest.raises(ConfigError):
        run_path(name, tmp_path)


def test_run_link_pointing_outside_is_refused(tmp_path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "ckpts"
    root.mkdir()
    (root / "linked").symlink_to(outside)
    with pytest.raises(ConfigError, match="link"):
        run_path("linked", root)
    with pytest.raises(ConfigError):
        delete_run("linked", root)
    assert outside.exists()
    assert [r.name for r in list_runs(root)] == []


def test_new_run_names_are_unique_and_valid(tmp_path) -> None:
    cfg = tiny_config()
    a = new_run_name(cfg, tmp_path)
    (tmp_path / a).mkdir()
    b = new_run_name(cfg, tmp_path)
    assert a != b and run_path(b, tmp_path).parent == tmp_path


def test_meta_names_the_latest_losses_and_quality_and_no_temp_files_remain(tmp_path) -> None:
    tr = Trainer(tiny_config(steps=6, log_every=3, sample_every=3, checkpoint_every=3, quality_every=3))
    writer = RunWriter(tmp_path / "q")
    writer.start(tr)
    tr.run(on_step=writer.on_step)
    writer.finish(tr, "done")
    meta = json.loads((tmp_path / "q" / META_FILE).read_text())
    assert set(meta["last"]) == {"loss/D", "loss/G", "D(x)", "D(G(z))"}
    assert meta["last"]["loss/D"] == next(h["loss/D"] for h in reversed(tr.history) if "loss/D" in h)
    scored = next(h for h in reversed(tr.history) if "quality" in h)
    assert meta["quality"] == {k: v for k, v in scored.items() if k != "step"} and "kid" in meta["quality"]
    assert load_checkpoint(writer.last_checkpoint)["step"] == 6
    files = [p.name for p in (tmp_path / "q").rglob("*")]
    assert not [n for n in files if n.startswith(TEMP_PREFIX)]


def test_failed_run_meta_keeps_the_error_and_saves_no_checkpoint(tmp_path) -> None:
    tr = Trainer(tiny_config(steps=4))
    writer = RunWriter(tmp_path / "f")
    writer.start(tr)
    tr.run()
    writer.finish(tr, "failed", "something broke")
    meta = json.loads((tmp_path / "f" / META_FILE).read_text())
    assert meta["status"] == "failed" and meta["error"] == "something broke" and meta["step"] == 4
    assert find_checkpoints(tmp_path / "f") == []


def test_checkpoint_root_follows_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GAN_WORKBENCH_CHECKPOINTS", str(tmp_path / "elsewhere"))
    assert checkpoint_root() == tmp_path / "elsewhere"
    assert run_path("r").parent == tmp_path / "elsewhere"


@pytest.mark.parametrize("step", [0, 1, 1234, 9_999_999, 12_345_678])
def test_a_grid_file_name_gives_back_its_step(tmp_path: Path, step: int) -> None:
    path = grid_path(tmp_path, step)
    assert path.parent == tmp_path / GRID_DIR and path.suffix == ".png"
    assert grid_step(path) == step and grid_step(str(path)) == step


@pytest.mark.parametrize("name", ["step-.png", "step-12.jpg", "step-1x.png", "notes.png", ".tmp-step-5.png"])
def test_other_file_names_have_no_step(name: str) -> None:
    assert grid_step(Path("grids") / name) is None


def test_grids_are_listed_by_step_number_without_stray_files(tmp_path: Path) -> None:
    steps = [5, 10_000_000, 200, 1]  # past 9,999,999 the zero-padded names no longer sort by step
    for step in steps:
        grid_path(tmp_path, step).parent.mkdir(exist_ok=True)
        grid_path(tmp_path, step).write_bytes(b"")
    (tmp_path / GRID_DIR / "cover.png").write_bytes(b"")
    grids = RunInfo(tmp_path.name, tmp_path).grids
    assert [grid_step(p) for p in grids] == sorted(steps)


def test_meta_names_its_writer_and_is_refreshed_by_a_heartbeat(tmp_path: Path) -> None:
    clock = [0.0]
    tr = Trainer(tiny_config(steps=4, checkpoint_every=100))
    writer = RunWriter(tmp_path / "h", clock=lambda: clock[0])
    writer.start(tr)
    meta = json.loads((tmp_path / "h" / META_FILE).read_text())
    assert meta["writer"] == {"host": socket.gethostname(), "pid": os.getpid()} and meta["step"] == 0
    tr.run(on_step=writer.on_step)  # 4 steps within the same clock second: no rewrite
    assert json.loads((tmp_path / "h" / META_FILE).read_text())["step"] == 0
    clock[0] = HEARTBEAT_SECONDS
    writer.heartbeat(tr)
    meta = json.loads((tmp_path / "h" / META_FILE).read_text())
    assert meta["step"] == 4 and meta["status"] == "running"
    writer.heartbeat(tr, "paused")  # a new status is written at once
    assert json.loads((tmp_path / "h" / META_FILE).read_text())["status"] == "paused"
    writer.finish(tr, "done")


def test_a_writer_will_not_start_in_a_folder_another_live_process_trains_in(tmp_path: Path) -> None:
    run = tmp_path / "busy"
    run.mkdir()
    theirs = {"status": "running", "updated": time.time(), "writer": {"host": socket.gethostname(),
                                                                      "pid": os.getppid()}}
    (run / META_FILE).write_text(json.dumps(theirs))
    writer, tr = RunWriter(run), Trainer(tiny_config(steps=2))
    with pytest.raises(UserError, match="is training elsewhere"):
        writer.start(tr)
    writer.finish(tr, "failed", "refused")  # what a failing job does next: it must not touch their folder either
    assert json.loads((run / META_FILE).read_text()) == theirs and not (run / GRID_DIR).exists()


def test_the_cli_will_not_resume_into_a_folder_another_live_process_trains_in(tmp_path: Path, capsys) -> None:
    from conftest import make_run

    from gan_core.cli.commands import main

    run = make_run("shared-run", steps=10)
    meta = json.loads((run / META_FILE).read_text())
    meta.update(status="running", updated=time.time(), writer={"host": socket.gethostname(), "pid": os.getppid()})
    (run / META_FILE).write_text(json.dumps(meta))
    assert main(["train", "--resume", str(run), "--steps", "20"]) == 2
    err = capsys.readouterr().err
    assert f"error: Run 'shared-run' is training elsewhere ({socket.gethostname()}, pid {os.getppid()})" in err
    assert "Traceback" not in err and json.loads((run / META_FILE).read_text()) == meta


def test_a_run_stopped_between_grids_keeps_the_grid_it_stopped_at() -> None:
    from conftest import make_run

    stopped = make_run("stopped-early", steps=100, stop_at=7, sample_every=50)
    assert [grid_step(p) for p in RunInfo("s", stopped).grids] == [1, 7]  # not only step 1's untrained grid
    done = make_run("done-run", steps=20, sample_every=10)
    assert [grid_step(p) for p in RunInfo("d", done).grids] == [1, 10, 20]  # the last step's grid is not redrawn


def test_finish_writes_meta_once_and_only_what_must_survive_a_crash_is_fsynced(tmp_path, monkeypatch) -> None:
    """Checkpoints and the final meta.json are fsynced; grids and heartbeats are not (rewritten soon anyway)."""
    import gan_core.fileio as fileio

    synced: list[str] = []  # base names of the files fsynced, in order
    writes: list[str] = []
    real_write_with = fileio.write_with

    def recording(path, write, durable=True):  # noqa: ANN001, ANN202 - the signature of write_with
        writes.append(Path(path).name)
        if durable:
            synced.append(Path(path).name)
        return real_write_with(path, write, durable)

    monkeypatch.setattr(fileio, "write_with", recording)
    trainer = Trainer(tiny_config(steps=6, sample_every=2, checkpoint_every=4))
    writer = RunWriter(tmp_path / "run")
    writer.start(trainer)
    trainer.run(on_step=writer.on_step)
    synced_before_finish, writes_before_finish = len(synced), len(writes)
    writer.finish(trainer, "done")
    assert any(n.startswith("step-") for n in writes) and not any(n.startswith("step-") for n in synced)
    assert writes[writes_before_finish:].count("meta.json") == 1  # finish's checkpoint does not write meta first
    assert synced[synced_before_finish:] == ["ckpt-0000006.pt", "meta.json"]
    assert synced[:synced_before_finish] == ["metrics.jsonl", "ckpt-0000004.pt"]  # the fresh log, then checkpoints
    assert read_meta(tmp_path / "run")["status"] == "done"


def test_a_new_run_never_starts_in_a_folder_holding_another_run() -> None:
    """Issue #20, item 3: the app's job and the CLI both go through RunWriter.start, which refuses the folder."""
    from conftest import make_run, tiny_config

    from gan_core.errors import ConfigError
    from gan_core.runs.folders import RunWriter
    from gan_core.train.trainer import Trainer

    old = make_run("kept", steps=10)
    before = {p: p.read_bytes() for p in old.rglob("*") if p.is_file()}
    with pytest.raises(ConfigError, match="The folder 'kept' already holds a run \\(mlp, step 10\\): continue it on "
                                          "the Runs page, or choose another run name."):
        RunWriter(old).start(Trainer(tiny_config(steps=5)))
    assert {p: p.read_bytes() for p in old.rglob("*") if p.is_file()} == before
