"""Engine faults: unsafe or broken checkpoints, killed and failed saves, exploding or out-of-memory training, jobs."""

from __future__ import annotations

import errno
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from conftest import REPO, Exploit, explode_discriminator_at, tiny_config

from gan_core import fileio
from gan_core.errors import CheckpointError, TrainingError, UserError
from gan_core.job import JobRegistry
from gan_core.runs import checkpoints
from gan_core.runs.checkpoints import clean_temp_files, find_checkpoints, load_checkpoint, save_checkpoint
from gan_core.runs.folders import RunWriter
from gan_core.train.trainer import Trainer


@pytest.fixture
def good_state():
    tr = Trainer(tiny_config(steps=3))
    tr.run()
    return tr.state_dict()


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_code_running_pickle_is_refused_and_never_runs(tmp_path, writer: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "ckpt-0000001.pt"
    payload = {"G": Exploit(str(marker))}
    if writer == "torch":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(CheckpointError, match="Refused|Corrupt"):
        load_checkpoint(path)
    assert not marker.exists()


def test_whole_module_checkpoint_is_refused_with_a_hint(tmp_path) -> None:
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(CheckpointError, match=r"state_dict"):
        load_checkpoint(path)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04truncated", os.urandom(4096)],
                         ids=["empty", "truncated", "random"])
def test_broken_files_say_corrupt_with_the_path(tmp_path, content: bytes) -> None:
    path = tmp_path / "ckpt-0000001.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="Corrupt checkpoint") as e:
        load_checkpoint(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("change,expected", [
    (dict(arch="dcgan"), "arch mlp vs dcgan"),
    (dict(size=32), "image size 16 vs 32"),
    (dict(channels=1), "channels 3 vs 1"),
])
def test_mismatched_checkpoint_names_what_differs(tmp_path, good_state, change: dict, expected: str) -> None:
    path = save_checkpoint(good_state, tmp_path / "c.pt")
    cfg = tiny_config(change.get("arch", "mlp"), size=change.get("size", 16))
    if "channels" in change:
        cfg.data.channels = 1
    with pytest.raises(CheckpointError, match=expected):
        Trainer(cfg).load_state_dict(load_checkpoint(path))


def test_sigkill_during_save_keeps_the_previous_checkpoint(tmp_path, good_state) -> None:
    target = tmp_path / "ckpt.pt"
    save_checkpoint(good_state, target)
    before = target.read_bytes()
    # A child process starts saving over the same file and stalls in fsync; we kill it there.
    script = textwrap.dedent(f"""
        import os, sys, time, torch
        sys.path.insert(0, {str(REPO)!r})
        from gan_core.runs.checkpoints import save_checkpoint
        def stall(fd):
            print("saving", flush=True); time.sleep(60)
        os.fsync = stall
        save_checkpoint({{"G": torch.randn(1000, 1000)}}, {str(target)!r})
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "saving"
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(fileio.TEMP_PREFIX)]
    assert leftovers, "the killed save should have left its temp file"
    assert target.read_bytes() == before and load_checkpoint(target)["step"] == 3
    assert find_checkpoints(tmp_path) == [target]  # temp files are ignored...
    assert clean_temp_files(tmp_path) == leftovers  # ...and removed on the next start
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_disk_full_during_save_keeps_the_previous_checkpoint(tmp_path, good_state, monkeypatch) -> None:
    target = save_checkpoint(good_state, tmp_path / "ckpt.pt")
    before = target.read_bytes()

    def full_disk(obj, f):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.torch, "save", full_disk)
    with pytest.raises(TrainingError, match="disk is full"):
        save_checkpoint(good_state, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_disk_full_stops_a_job_and_keeps_earlier_checkpoints(tmp_path, monkeypatch) -> None:
    real_save = fileio.torch.save
    calls = {"n": 0}

    def save_then_fill(obj, f):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(obj, f)

    monkeypatch.setattr(fileio.torch, "save", save_then_fill)
    job = JobRegistry().start(tiny_config(steps=100, checkpoint_every=10), tmp_path / "run")
    assert job.join(60)
    snap = job.snapshot()
    assert snap.status == "failed" and "disk is full" in snap.error
    assert load_checkpoint(tmp_path / "run" / "ckpt-0000010.pt")["step"] == 10


def _fill_disk_on_grid(monkeypatch: pytest.MonkeyPatch, after: int) -> None:
    """Writes of grid PNGs fail with ENOSPC after `after` of them succeeded (a disk filling up mid-run)."""
    real_fdopen, grids = os.fdopen, {"n": 0}

    class FullFile:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[:10])  # part of it lands, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")

    def fdopen(fd, mode="r", *args, **kwargs):
        f = real_fdopen(fd, mode, *args, **kwargs)
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".png"):
            grids["n"] += 1
            if grids["n"] > after:
                return FullFile(f)
        return f

    monkeypatch.setattr(fileio.os, "fdopen", fdopen)


def test_disk_full_while_writing_a_grid_fails_the_job_naming_the_file(tmp_path, monkeypatch) -> None:
    _fill_disk_on_grid(monkeypatch, after=2)
    job = JobRegistry().start(tiny_config(steps=100, sample_every=5, checkpoint_every=5), tmp_path / "run")
    assert job.join(60)
    snap = job.snapshot()
    assert snap.status == "failed" and snap.error.startswith("The disk is full while writing ")
    assert "step-0000010.png" in snap.error and "Traceback" not in snap.error
    files = sorted(p.name for p in (tmp_path / "run").rglob("*"))
    assert not [n for n in files if n.startswith(".tmp-")]  # the partial grid was removed
    assert [n for n in files if n.endswith(".png")] == ["step-0000001.png", "step-0000005.png"]
    assert load_checkpoint(find_checkpoints(tmp_path / "run")[0])["step"] == 5


def test_cli_reports_a_full_disk_in_one_line_with_exit_code_2(tmp_path, monkeypatch, capsys) -> None:
    from gan_core.cli.commands import main

    _fill_disk_on_grid(monkeypatch, after=1)
    args = ["train", "--dataset", "shapes", "--arch", "mlp", "--image-size", "16", "--batch-size", "16",
            "--sample-every", "5", "--quality-every", "0", "--steps", "50", "--out", str(tmp_path / "run")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "error: The disk is full while writing" in err and "Traceback" not in err


def test_non_finite_weights_are_never_saved(tmp_path) -> None:
    tr = Trainer(tiny_config(steps=2))
    tr.run()
    with torch.no_grad():
        next(tr.G.parameters()).fill_(float("nan"))
    writer = RunWriter(tmp_path / "r")
    assert writer.save(tr) is None and "non-finite" in writer.save_error
    assert find_checkpoints(tmp_path / "r") == []


def test_exploding_job_fails_with_step_and_keeps_last_good_checkpoint(tmp_path, monkeypatch) -> None:
    cfg = tiny_config("mlp", "lsgan", steps=400, log_every=2, checkpoint_every=4, lr_g=0.5, lr_d=0.5)
    explode_discriminator_at(monkeypatch, 5)  # non-finite from step 6 on
    job = JobRegistry().start(cfg, tmp_path / "boom")
    assert job.join(60)
    snap = job.snapshot()
    assert snap.status == "failed" and "non-finite at step" in snap.error
    saved = find_checkpoints(tmp_path / "boom")
    assert [p.name for p in saved] == ["ckpt-0000004.pt"]  # the last good one; nothing after the blow-up
    for path in saved:
        state = load_checkpoint(path)
        assert all(torch.isfinite(t).all() for t in state["G"].values())


def test_out_of_memory_halves_the_batch_then_gives_up(monkeypatch) -> None:
    tr = Trainer(tiny_config(steps=6))
    real_step, fails = tr.step, {"n": 0}

    def flaky_step():
        if tr.batch_size > 8:
            fails["n"] += 1
            raise torch.OutOfMemoryError("CUDA out of memory")
        real_step()

    monkeypatch.setattr(tr, "step", flaky_step)
    assert tr.run() == "done"
    assert tr.batch_size == 8 and fails["n"] == 1
    assert tr.alerts[0]["kind"] == "oom" and "batch size halved to 8" in tr.alerts[0]["message"]

    def always_oom():
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(tr, "step", always_oom)
    tr.config.train.steps = 20
    with pytest.raises(TrainingError, match="smaller"):
        tr.run()


def test_exception_in_thread_is_reported_and_a_new_run_can_start(tmp_path, monkeypatch) -> None:
    reg = JobRegistry()

    def broken(self):
        raise RuntimeError("simulated failure in step")

    monkeypatch.setattr(Trainer, "step", broken)
    job = reg.start(tiny_config(steps=10), tmp_path / "bad")
    assert job.join(30)
    snap = job.snapshot()
    assert snap.status == "failed" and "simulated failure" in snap.error
    monkeypatch.undo()
    monkeypatch.setenv("GAN_WORKBENCH_CHECKPOINTS", str(tmp_path))
    job2 = reg.start(tiny_config(steps=5), tmp_path / "good")
    assert job2.join(30) and job2.snapshot().status == "done"


def test_rapid_pause_resume_stop_leaves_a_loadable_checkpoint(tmp_path) -> None:
    job = JobRegistry().start(tiny_config(steps=10**5, checkpoint_every=3), tmp_path / "r")
    deadline = time.time() + 30
    while job.snapshot().step < 5 and time.time() < deadline:
        time.sleep(0.01)
    for _ in range(20):
        job.pause()
        job.resume()
    job.pause()
    job.stop()
    job.stop()
    assert job.join(30)
    snap = job.snapshot()
    assert snap.status == "stopped"
    state = load_checkpoint(find_checkpoints(tmp_path / "r")[0])
    assert state["step"] == snap.step


def test_stop_during_a_save_leaves_a_loadable_checkpoint(tmp_path, monkeypatch) -> None:
    real_save = checkpoints.save_checkpoint
    saving = {"job": None}

    def slow_save(state, path):
        saving["job"].stop()  # Stop arrives while the save is under way
        time.sleep(0.2)
        return real_save(state, path)

    monkeypatch.setattr("gan_core.runs.folders.save_checkpoint", slow_save)
    job = JobRegistry().start(tiny_config(steps=10**5, checkpoint_every=5), tmp_path / "r")
    saving["job"] = job
    assert job.join(30)
    assert job.snapshot().status == "stopped"
    assert load_checkpoint(find_checkpoints(tmp_path / "r")[0])["step"] == job.snapshot().step


def test_second_start_is_refused_while_one_trains(tmp_path) -> None:
    reg = JobRegistry()
    job = reg.start(tiny_config(steps=10**5), tmp_path / "a")
    try:
        with pytest.raises(UserError, match="still training"):
            reg.start(tiny_config(), tmp_path / "b")
    finally:
        job.stop()
        job.join(30)
    assert not (tmp_path / "b").exists()
