"""Checkpoints: round trip, a frozen format, what the loaded generator samples, newest-valid selection."""

from __future__ import annotations

import os

import pytest
import torch
from conftest import tiny_config

from gan_core.errors import CheckpointError
from gan_core.runs.checkpoints import find_checkpoints, latest_valid_checkpoint, load_checkpoint, save_checkpoint
from gan_core.runs.generator import load_generator
from gan_core.sampling import generate
from gan_core.train.state import FORMAT_VERSION
from gan_core.train.trainer import Trainer

# The checkpoint format (FORMAT_VERSION 1): older files hold exactly these keys and must keep loading.
STATE_KEYS = {"format_version", "config", "image_shape", "num_classes", "class_names", "step", "epoch", "train_seconds",
              "batch_size", "world_size", "G", "D", "EMA", "opt_G", "opt_D", "rng", "fixed_z", "history", "alerts",
              "balance"}


def test_checkpoint_is_self_describing(tmp_path) -> None:
    tr = Trainer(tiny_config("dcgan", steps=5, ema=0.9))
    tr.run()
    state = load_checkpoint(save_checkpoint(tr.state_dict(), tmp_path / "a.pt"))
    assert set(state) == STATE_KEYS and set(state["rng"]) == {"torch", "gen", "cuda"}
    assert state["format_version"] == FORMAT_VERSION
    assert state["config"] == tr.config.to_dict() and state["step"] == 5 and state["world_size"] == 1
    assert state["image_shape"] == [3, 16, 16] and state["class_names"] == ["triangle", "square", "circle"]
    assert state["EMA"].keys() == state["G"].keys() and state["fixed_z"].shape == (16, 16)
    assert len(state["opt_G"]["state"]) == len(list(tr.G.parameters()))
    assert [h["step"] for h in state["history"] if "loss/D" in h] == [5]
    assert state["epoch"] == pytest.approx(5 * 16 / 128)
    assert state["balance"] is None  # cluster balance off: nothing of it kept


@pytest.mark.parametrize("arch", ["dcgan", "upsample-conv"])
def test_loaded_generator_reproduces_the_trainers_samples(tmp_path, arch: str) -> None:
    tr = Trainer(tiny_config(arch, steps=5, ema=0.5))
    tr.run()
    path = save_checkpoint(tr.state_dict(), tmp_path / "a.pt")
    lg = load_generator(path)
    # EMA weights and BatchNorm statistics travel.
    assert torch.equal(lg.images(tr.fixed_z.cpu()), generate(tr.sampler, tr.fixed_z, tr.fixed_y))


def test_save_replaces_atomically_and_leaves_no_temp_files(tmp_path) -> None:
    path = tmp_path / "run" / "c.pt"
    save_checkpoint({"x": torch.ones(3)}, path)
    save_checkpoint({"x": torch.zeros(3)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["x"], torch.zeros(3))
    assert [p.name for p in path.parent.iterdir()] == ["c.pt"]


def test_latest_valid_checkpoint_skips_corrupt_newer_files(tmp_path) -> None:
    tr = Trainer(tiny_config(steps=3))
    tr.run()
    good = save_checkpoint(tr.state_dict(), tmp_path / "ckpt-0000003.pt")
    bad = tmp_path / "ckpt-0000009.pt"
    bad.write_bytes(good.read_bytes()[:500])  # truncated, and newer
    os.utime(bad, (good.stat().st_mtime + 10,) * 2)
    assert find_checkpoints(tmp_path) == [bad, good]  # newest first; the list still shows both
    with pytest.raises(CheckpointError, match="Corrupt"):
        load_checkpoint(bad)
    path, state = latest_valid_checkpoint(tmp_path)
    assert path == good and state["step"] == 3


def test_a_checkpoint_the_saving_run_removes_while_the_list_is_made_does_not_break_it(tmp_path, monkeypatch) -> None:
    # A run saving now removes its oldest checkpoints (RunFolder.keep) at any moment; the Explore page of a live run
    # crashed when one went between two looks at it.
    oldest, middle, newest = paths = [tmp_path / f"ckpt-{step:07d}.pt" for step in (10, 20, 30)]
    for i, p in enumerate(paths):
        p.write_bytes(b"x")
        os.utime(p, (1_000_000 + i,) * 2)
    (tmp_path / "folder.pt").mkdir()  # a folder named like a checkpoint is no checkpoint
    real_stat, looks = os.stat, []

    def stat(path, *args, **kwargs):  # the oldest answers the first look, then is gone
        if os.fspath(path) == os.fspath(oldest):
            looks.append(path)
            if len(looks) > 1:
                raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    found = find_checkpoints(tmp_path)
    assert found[:2] == [newest, middle] and set(found) <= set(paths) and looks


def test_temp_files_of_a_run_another_live_process_trains_are_saves_in_progress_and_stay(tmp_path) -> None:
    import json
    import socket
    import time

    from gan_core.fileio import TEMP_PREFIX
    from gan_core.runs.checkpoints import clean_temp_files

    theirs, crashed = tmp_path / "theirs", tmp_path / "crashed"
    for run in (theirs, crashed):
        (run / "grids").mkdir(parents=True)
        (run / "grids" / f"{TEMP_PREFIX}abc.png").write_bytes(b"partial")
    writer = {"host": socket.gethostname(), "pid": os.getppid()}  # the test's parent: alive
    (theirs / "meta.json").write_text(json.dumps({"status": "running", "updated": time.time(), "writer": writer}))
    assert clean_temp_files(tmp_path) == [crashed / "grids" / f"{TEMP_PREFIX}abc.png"]
    assert (theirs / "grids" / f"{TEMP_PREFIX}abc.png").exists()
