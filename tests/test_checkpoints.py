"""Checkpoints: round trip, self-description, newest-valid selection, run folders and names."""

from __future__ import annotations

import json
import os

import pytest
import torch

from conftest import tiny_config
from gan_core.checkpoints import find_checkpoints, latest_valid_checkpoint, load_checkpoint, save_checkpoint
from gan_core.errors import ConfigError
from gan_core.latent import load_generator
from gan_core.runs import RunWriter, delete_run, list_runs, new_run_name, run_path
from gan_core.trainer import FORMAT_VERSION, Trainer


def test_checkpoint_is_self_describing(tmp_path) -> None:
    tr = Trainer(tiny_config("dcgan", steps=5, ema=0.9))
    tr.run()
    state = load_checkpoint(save_checkpoint(tr.state_dict(), tmp_path / "a.pt"))
    assert state["format_version"] == FORMAT_VERSION
    assert state["config"] == tr.config.to_dict() and state["step"] == 5
    assert state["image_shape"] == [3, 16, 16] and state["class_names"] == ["triangle", "square", "circle"]
    for key in ("G", "D", "EMA", "opt_G", "opt_D", "rng", "history", "fixed_z"):
        assert state[key] is not None, key
    assert [h["step"] for h in state["history"] if "loss/D" in h] == [5] and state["epoch"] == pytest.approx(5 * 16 / 128)


@pytest.mark.parametrize("arch", ["dcgan", "upsample-conv"])
def test_loaded_generator_reproduces_the_trainers_samples(tmp_path, arch: str) -> None:
    tr = Trainer(tiny_config(arch, steps=5, ema=0.5))
    tr.run()
    path = save_checkpoint(tr.state_dict(), tmp_path / "a.pt")
    lg = load_generator(path)
    assert torch.equal(lg.images(tr.fixed_z.cpu()), tr.sample_fixed())  # EMA weights and BN statistics travel


def test_save_replaces_atomically_and_leaves_no_temp_files(tmp_path) -> None:
    path = tmp_path / "run" / "c.pt"
    save_checkpoint({"x": torch.ones(3)}, path)
    save_checkpoint({"x": torch.zeros(3)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["x"], torch.zeros(3))
    assert [p.name for p in path.parent.iterdir()] == ["c.pt"]


def test_run_writer_keeps_newest_checkpoints_grids_and_meta(tmp_path) -> None:
    tr = Trainer(tiny_config(steps=40, checkpoint_every=10, sample_every=10))
    writer = RunWriter(tmp_path / "r1", keep=2)
    writer.start(tr)
    tr.run(on_step=writer.on_step)
    writer.finish(tr, "done")
    names = [p.name for p in find_checkpoints(tmp_path / "r1")]
    assert names == ["ckpt-0000040.pt", "ckpt-0000030.pt"]
    assert len(list((tmp_path / "r1" / "grids").glob("step-*.png"))) == 5  # step 1 and every 10 steps
    meta = json.loads((tmp_path / "r1" / "meta.json").read_text())
    assert meta["status"] == "done" and meta["step"] == 40 and "loss/D" in meta["last"]
    runs = list_runs(tmp_path)
    assert [r.name for r in runs] == ["r1"] and len(runs[0].grids) == 5


def test_latest_valid_checkpoint_skips_corrupt_newer_files(tmp_path) -> None:
    tr = Trainer(tiny_config(steps=3))
    tr.run()
    good = save_checkpoint(tr.state_dict(), tmp_path / "ckpt-0000003.pt")
    bad = tmp_path / "ckpt-0000009.pt"
    bad.write_bytes(good.read_bytes()[:500])  # truncated, and newer
    os.utime(bad, (good.stat().st_mtime + 10,) * 2)
    assert find_checkpoints(tmp_path)[0] == bad
    path, state = latest_valid_checkpoint(tmp_path)
    assert path == good and state["step"] == 3


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
