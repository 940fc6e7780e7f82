"""The engine's fault messages as the pages show them: bad checkpoints on Explore and Runs, a run whose losses explode
and a disk that fills up on Train. Each ends in a message on the page, never a traceback (engine side:
tests/runs/test_faults.py).
"""

from __future__ import annotations

import errno
import os

import pytest
import torch
from conftest import Exploit, explode_discriminator_at, make_run, open_page, tiny_data_config, wait_until

import gan_core.runs.checkpoints
from gan_core.runs.checkpoints import find_checkpoints
from gan_core.runs.folders import run_path
from workbench.jobs import job_registry

pytestmark = pytest.mark.usefixtures("app_env")


def errors(at) -> list[str]:
    return [e.value for e in at.error]


@pytest.mark.parametrize("bad", ["random", "exploit", "module"])
def test_explore_shows_why_a_checkpoint_cannot_be_loaded(tmp_path, bad: str) -> None:
    run = make_run("sent-to-me", steps=4)
    [ckpt] = find_checkpoints(run)
    marker = tmp_path / "pwned"
    if bad == "random":
        ckpt.write_bytes(os.urandom(2048))
    elif bad == "exploit":
        torch.save({"G": Exploit(str(marker))}, ckpt)
    else:
        torch.save(torch.nn.Linear(2, 2), ckpt)
    at = open_page("pages/3_Explore.py", "Explore")
    expected = {"random": f"Corrupt checkpoint {ckpt}", "exploit": str(ckpt), "module": "state_dict"}[bad]
    assert any(expected in e for e in errors(at)), errors(at)
    assert not at.slider  # nothing to explore
    assert not marker.exists()  # the pickle was refused, not run


def test_explore_skips_a_corrupt_newest_checkpoint_for_the_newest_valid_one() -> None:
    run = make_run("half-broken", steps=8, checkpoint_every=4)
    newest, older = find_checkpoints(run)[:2]  # newest first
    newest.write_bytes(newest.read_bytes()[:100])  # truncated
    at = open_page("pages/3_Explore.py", "Explore")
    assert not errors(at)
    assert any(f"step {torch.load(older, weights_only=True)['step']}" in c.value for c in at.caption), \
        [c.value for c in at.caption]


def test_resume_of_a_run_without_a_valid_checkpoint_says_so() -> None:
    run = make_run("all-broken", steps=4, stop_at=2)
    for path in find_checkpoints(run):
        path.write_bytes(b"")
    at = open_page("pages/4_Runs.py", "Runs")
    at.selectbox(key="runs_selected").set_value("all-broken").run()
    at.button(key="runs_resume_btn").click().run()
    assert not at.exception
    assert any("no valid checkpoint" in e for e in errors(at)), errors(at)
    assert job_registry().active() is None


def start(at, name: str, **numbers: int) -> None:
    """Train the tiny triangles-mlp recipe for 200 steps as `name`; numbers: more settings by widget key."""
    at.selectbox(key="train_preset").set_value("triangles-mlp").run()  # fills every setting with the recipe's
    for key, value in {"train_steps": 200, "train_batch_size": 16, **numbers}.items():
        at.text_input(key=key).set_value(str(value))  # numbers are typed text, parsed against their domains
    at.text_input(key="train_run_name").set_value(name)
    at.button(key="train_start_btn").click().run()


def finished(name: str) -> None:
    job = job_registry().get(name)
    wait_until(lambda: not job.alive, what=f"run {name} to end")


def test_exploding_losses_stop_the_run_with_the_step_on_the_train_page(monkeypatch) -> None:
    explode_discriminator_at(monkeypatch, 5)
    at = open_page("pages/2_Train.py", "Train", tiny_data_config())
    start(at, "exploding")
    finished("exploding")
    at.run()
    assert any("non-finite at step" in e and "learning rate" in e for e in errors(at)), errors(at)
    assert job_registry().active() is None  # the lock is free: a new run may start


def test_a_full_disk_is_reported_on_the_train_page_and_earlier_checkpoints_stay(monkeypatch) -> None:
    real_save, calls = gan_core.runs.checkpoints.torch.save, {"n": 0}

    def save_then_fill(obj, f) -> None:  # the first checkpoint fits; the disk is full from then on
        calls["n"] += isinstance(obj, dict) and "G" in obj
        if calls["n"] > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(obj, f)

    monkeypatch.setattr(gan_core.runs.checkpoints.torch, "save", save_then_fill)
    at = open_page("pages/2_Train.py", "Train", tiny_data_config())
    start(at, "full-disk", train_checkpoint_every=20)
    finished("full-disk")
    at.run()
    assert any("disk is full" in e for e in errors(at)), errors(at)
    run = run_path("full-disk")
    assert [p.name for p in find_checkpoints(run)] == ["ckpt-0000020.pt"]
    assert not [p.name for p in run.iterdir() if p.name.startswith(".tmp-")]  # no partial file left
