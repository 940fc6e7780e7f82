"""AppTest of the 2-D playground: a ring run on Train shows the live plot, step mode and the loss comparison;
Explore shows a latent point and its output for a 2-D run."""

from __future__ import annotations

import pytest
from conftest import open_page, wait_until

from workbench.jobs import job_registry

pytestmark = pytest.mark.usefixtures("app_env")
RING = {"name": "ring", "num_samples": 2000}


def test_a_ring_run_shows_the_playground_steps_on_click_and_compares_losses() -> None:
    at = open_page("pages/2_Train.py", "Train", RING)
    assert at.selectbox(key="train_preset").value == "ring-default"
    assert at.text_input(key="train_pack").value == "2" and at.selectbox(key="train_lr_schedule").value == "linear"
    at.text_input(key="train_steps").set_value("100000")
    at.text_input(key="train_run_name").set_value("ring-play")
    at.button(key="train_start_btn").click().run()
    assert not at.exception
    job = job_registry().get("ring-play")
    try:
        assert job.config.model.pack == 2 and job.config.model.arch == "mlp-2d"  # the recipe's D option kept
        wait_until(lambda: job.snapshot().frame is not None, what="a playground frame")
        at.run()  # the page of a running job
        at.button(key="train_pause_btn").click().run()
        # "paused" is said from the command on; the step in flight then still lands: count from the parked thread.
        wait_until(lambda: job.snapshot().status == "paused" and job.parked, what="pause, the thread parked")
        at.run()
        assert not at.exception
        assert any(c.key == "playground_plot" for c in at.get("plotly_chart")), "no playground plot"
        step = at.button(key="playground_step_btn")
        assert not step.disabled
        before = job.snapshot().step
        assert any(m.value == f"**Run `ring-play`: paused at step {before:,}**" for m in at.markdown)
        step.click().run()
        wait_until(lambda: job.snapshot().step == before + 1, what="one step")
        at.button(key="playground_compare_btn").click().run()
        assert not at.exception
        assert any(c.key == "playground_surfaces_plot" for c in at.get("plotly_chart"))
        assert job.snapshot().step == before + 1  # still paused: one step per click
    finally:
        job.stop()
        job.join(30)


def test_explore_moves_a_latent_point_of_a_ring_run() -> None:
    at = open_page("pages/2_Train.py", "Train", RING)
    at.text_input(key="train_steps").set_value("30")
    at.text_input(key="train_run_name").set_value("ring-explore")
    at.button(key="train_start_btn").click().run()
    job = job_registry().get("ring-explore")
    job.join(60)
    at.switch_page("pages/3_Explore.py").run()
    assert not at.exception, at.exception
    at.slider(key="explore_points_z0").set_value(1.0).run()
    assert not at.exception
    caption = next(c.value for c in at.caption if c.value.startswith("G(+1.00"))
    at.slider(key="explore_points_z0").set_value(-1.0).run()
    assert next(c.value for c in at.caption if c.value.startswith("G(-1.00")) != caption
