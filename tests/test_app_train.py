"""AppTest of the Train page: recipes and settings, a tiny run started/paused/stopped, failures, one run at a time."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from conftest import open_page, tiny_data_config, wait_until
from streamlit.testing.v1 import AppTest

from gan_core.config import DataConfig
from gan_core.job import TrainingJob
from gan_core.presets import PRESETS
from gan_core.runs.folders import checkpoint_root
from workbench.jobs import job_registry

pytestmark = pytest.mark.usefixtures("app_env")
TRAIN_PAGE = "pages/2_Train.py"


def train_page(data: dict | None = None) -> AppTest:
    return open_page(TRAIN_PAGE, "Train", data)


def start_tiny(at: AppTest, name: str, steps: int = 100_000) -> None:
    """Recipe triangles-mlp on the tiny data, a short name, small batches; steps large so it trains until stopped."""
    at.selectbox(key="train_preset").set_value("triangles-mlp").run()
    at.text_input(key="train_steps").set_value(str(steps))
    at.text_input(key="train_batch_size").set_value("16")
    at.text_input(key="train_latent_dim").set_value("16")
    at.text_input(key="train_run_name").set_value(name)
    at.button(key="train_start_btn").click().run()
    assert not at.exception


def job(name: str) -> TrainingJob:
    found = job_registry().get(name)
    assert found is not None, f"no job {name}"
    return found


def test_every_recipe_and_the_controls_are_offered() -> None:
    at = train_page()
    recipe = at.selectbox(key="train_preset")
    assert recipe.options[-1] == "Custom" and len(recipe.options) == len(PRESETS) + 1
    assert recipe.value == "shapes-default"  # no data chosen: the embedded default
    assert {"train_latent_dim", "train_batch_size", "train_lr_g", "train_lr_d", "train_beta1", "train_beta2",
            "train_steps", "train_real_label", "train_fake_label", "train_n_critic", "train_ema",
            "train_seed"} <= {w.key for w in at.text_input}
    assert at.selectbox(key="train_device").options == ["auto", "cpu"]  # no GPU on the test machines
    assert at.text_input(key="train_run_name").value.startswith("shapes-default-")
    assert not at.button(key="train_start_btn").disabled
    assert all(at.button(key=k).disabled for k in ("train_pause_btn", "train_resume_btn", "train_stop_btn"))


def test_choosing_a_recipe_fills_its_settings_and_custom_trains_what_the_form_says() -> None:
    at = train_page(tiny_data_config())
    at.selectbox(key="train_preset").set_value("fashion-dcgan64").run()
    assert at.text_input(key="train_batch_size").value == "128"
    assert at.text_input(key="train_latent_dim").value == "256"
    assert (at.text_input(key="train_real_label").value, at.text_input(key="train_fake_label").value) == ("0.9", "0.1")
    assert any("trains on Fashion-MNIST, not on your chosen data set (Shapes)" in w.value for w in at.warning)
    at.selectbox(key="train_preset").set_value("Custom").run()
    assert any(c.value.startswith("Trains on shapes, triangles, 128 images, 16x16. Shapes are drawn on this machine")
               for c in at.caption)
    assert at.text_input(key="train_batch_size").value == "128"  # Custom starts from the recipe it was chosen from
    at.selectbox(key="train_arch").set_value("mlp")
    at.selectbox(key="train_loss").set_value("hinge")
    at.text_input(key="train_batch_size").set_value("16")
    at.text_input(key="train_latent_dim").set_value("8")
    assert at.checkbox(key="train_amp").value  # bf16 where faster: on by default
    at.checkbox(key="train_amp").uncheck()
    at.radio(key="train_length").set_value("Epochs").run()
    at.text_input(key="train_epochs").set_value("1")
    at.text_input(key="train_run_name").set_value("custom-run")
    at.button(key="train_start_btn").click().run()
    j = job("custom-run")
    cfg = j.config
    assert (cfg.model.arch, cfg.train.loss, cfg.model.latent_dim, cfg.train.epochs, cfg.train.steps) == (
        "mlp", "hinge", 8, 1.0, None)
    assert not cfg.train.amp
    wait_until(lambda: not j.alive, what="one epoch")
    assert j.snapshot().status == "done" and j.snapshot().total_steps == 8  # 128 images / batch 16


def test_tiny_run_starts_pauses_resumes_and_stops_with_a_checkpoint(tmp_path) -> None:
    at = train_page(tiny_data_config())
    start_tiny(at, "ui-tiny")
    j = job("ui-tiny")
    assert j.config.model.arch == "mlp" and j.config.train.batch_size == 16 and j.config.data.num_samples == 128
    # The speed line needs a logged speed (after the first log interval), not only steps: wait on that state.
    wait_until(lambda: j.snapshot().step >= 3 and j.snapshot().images_per_second > 0,
               what="a few training steps and their logged speed")
    at.run()
    assert any("ui-tiny" in m.value and "running" in m.value for m in at.markdown)
    speed = r"images/second .* · CPU, 1 thread, (fp32|bf16 mixed precision)$"
    assert any(re.search(speed, m.value) for m in at.markdown)
    assert not at.button(key="train_pause_btn").disabled
    at.button(key="train_pause_btn").click().run()
    assert j.snapshot().status == "paused" and not at.button(key="train_resume_btn").disabled
    # Paused: the grid is the paused step's, and its caption says so (it said step 626 at 646: issue #20, item 12).
    wait_until(lambda: j.snapshot().grid_step == j.snapshot().step, what="the paused step's grid")
    at.run()
    paused_at = j.snapshot().step
    assert f"Step {paused_at:,} /" in at.progress[0].proto.text
    assert f"Fixed-noise samples at step {paused_at:,}" in [c for i in at.image for c in i.captions]
    at.button(key="train_resume_btn").click().run()
    assert j.snapshot().status == "running"
    at.button(key="train_stop_btn").click().run()
    wait_until(lambda: not j.alive, what="the thread to end")
    at.run()
    snap = j.snapshot()
    assert snap.status == "stopped" and snap.step > 0
    assert any(m.value == "**Run `ui-tiny`: stopped**" for m in at.markdown)
    # The checkpoint by its file name, not the server's path (issue #20, item 10).
    assert [s.value for s in at.success if "Run stopped at step" in s.value] == [
        f"Run stopped at step {snap.step:,}. Checkpoint: {Path(snap.checkpoint).name} in the run's folder."]
    checkpoints = list((tmp_path / "checkpoints" / "ui-tiny").glob("ckpt-*.pt"))
    assert [str(p) for p in checkpoints] == [snap.checkpoint]
    assert at.progress[0].value == int(100 * snap.step / snap.total_steps)
    assert at.get("plotly_chart") and at.image  # curves and the fixed-noise grid


def test_failure_inside_the_thread_is_shown_and_a_new_run_can_start(tmp_path) -> None:
    at = train_page(dataclasses.asdict(DataConfig(name="folder", data_dir=str(tmp_path / "nowhere"))))
    assert at.selectbox(key="train_preset").value == "folder-default"
    at.text_input(key="train_steps").set_value("5")
    at.text_input(key="train_run_name").set_value("broken")
    at.button(key="train_start_btn").click().run()
    j = job("broken")
    wait_until(lambda: not j.alive, what="the failing thread to end")
    at.run()
    assert j.snapshot().status == "failed"
    assert any("does not exist" in e.value for e in at.error)
    at.session_state["data_config"] = tiny_data_config()
    at.run()
    start_tiny(at, "after-failure", steps=6)
    assert not any("still training" in e.value for e in at.error)
    j2 = job("after-failure")
    # Its last step is scored: the first scorer of these images trains a classifier (a minute on a loaded 2-core box).
    wait_until(lambda: not j2.alive, timeout=180, what="the second run to finish")
    assert j2.snapshot().status == "done"


def test_second_start_is_refused_and_a_second_tab_sees_the_same_run() -> None:
    at = train_page(tiny_data_config())
    start_tiny(at, "first")
    first = job("first")
    other_tab = train_page(tiny_data_config())
    assert any("first" in m.value for m in other_tab.markdown)  # training went on; the new tab shows it
    other_tab.text_input(key="train_run_name").set_value("second")
    other_tab.button(key="train_start_btn").click().run()
    assert any("still training" in e.value and "first" in e.value for e in other_tab.error)
    assert job_registry().get("second") is None
    assert [j for j in job_registry().jobs.values() if j.alive] == [first]
    at.button(key="train_start_btn").click().run()  # the same tab pressing Start again is refused too
    assert any("still training" in e.value for e in at.error)


def test_taken_or_invalid_run_names_are_refused(tmp_path) -> None:
    (tmp_path / "checkpoints" / "taken").mkdir(parents=True)
    at = train_page(tiny_data_config())
    at.text_input(key="train_run_name").set_value("taken")
    at.button(key="train_start_btn").click().run()
    assert any("already exists" in e.value for e in at.error)
    at.text_input(key="train_run_name").set_value("../escape")
    at.button(key="train_start_btn").click().run()
    assert any("Invalid run name" in e.value for e in at.error)
    assert not job_registry().jobs


def test_a_recipe_breaking_the_wgan_gp_rule_is_explained_and_not_started(batchnorm_wgan_recipe: str) -> None:
    at = train_page(tiny_data_config())
    at.selectbox(key="train_preset").set_value(batchnorm_wgan_recipe).run()
    rule = "WGAN-GP needs a critic without BatchNorm"
    assert any(rule in e.value for e in at.error), [e.value for e in at.error]
    at.text_input(key="train_run_name").set_value("never").run()
    assert at.button(key="train_start_btn").disabled  # Start is off while the settings break a rule
    assert not at.exception and any(rule in e.value for e in at.error)
    assert not job_registry().jobs and not (checkpoint_root() / "never").exists()



def test_the_live_panel_says_how_real_how_varied_and_how_copied_the_samples_are() -> None:
    import torch

    at = train_page(tiny_data_config())
    start_tiny(at, "ui-copies")
    j = job("ui-copies")
    wait_until(lambda: j.snapshot().step >= 3, what="a few training steps")
    at.run()
    at.button(key="train_pause_btn").click().run()  # paused: the thread publishes nothing until resumed
    # The status says "paused" at once; the thread parks after the step it is in, whose log it still publishes.
    wait_until(lambda: j.parked, what="the thread parked at its paused step")
    score = {"step": 3, "quality": 5.0, "precision": 0.92, "recall": 0.8, "copies": 0.02, "copy_threshold": 0.04,
             "copy_reference": 128}
    # What a score that found two likely copies publishes: its entry, and each sample beside its original.
    j._set(history=[*j.snapshot().history, score], copies=torch.full((4, 3, 16, 16), 200, dtype=torch.uint8))
    at.run()
    lines = [m.value for m in at.markdown]
    assert any(v.startswith("**92% of samples look real · 80% of the real variety covered**") for v in lines)
    assert any(v.startswith("**2% of samples look like copies of a training image** (closer than 0.040") for v in lines)
    assert any(img.captions[0].startswith("Likely copies") for img in at.image if img.captions)
    at.button(key="train_stop_btn").click().run()
    wait_until(lambda: not j.alive, what="the thread to end")
