"""AppTest of the Home page: purpose, device, recent runs with thumbnails, and the one-button default training."""

from __future__ import annotations

import pytest
from conftest import APP, make_run
from streamlit.testing.v1 import AppTest

from workbench.jobs import RUN_KEY, job_registry

pytestmark = pytest.mark.usefixtures("app_env")


def test_home_explains_the_app_and_names_the_device() -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "GAN Workbench"
    assert "adversarial" in at.markdown[0].value
    device = next(c.value for c in at.caption if c.value.startswith("Device found:"))
    assert "CPU" in device or "GPU" in device
    assert at.button(key="home_quick_start_btn").label.startswith("Train the default GAN")
    assert any("No runs yet" in i.value for i in at.info)


def test_home_lists_recent_runs_with_their_latest_grid() -> None:
    run_dir = make_run("home-run", steps=10, sample_every=5)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert not at.info  # the empty-state message is gone
    captions = [c for img in at.image for c in img.captions]
    assert any(c.startswith("home-run — done, step 10/10") for c in captions), captions
    assert len(list((run_dir / "grids").glob("*.png"))) >= 2  # the thumbnail is one of several: the latest


def test_quick_start_trains_the_default_and_opens_the_train_page() -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.button(key="home_quick_start_btn").click().run()
    assert not at.exception
    assert at.title[0].value == "Train"  # st.switch_page took us there
    job = job_registry().active()
    assert job is not None and job.config.preset == "shapes-default" and job.config.data.name == "shapes"
    assert at.session_state[RUN_KEY] == job.run_dir.name
    assert any(job.run_dir.name in m.value for m in at.markdown)  # the live panel shows that run
    job.stop()
    assert job.join(timeout=60)


def test_quick_start_is_refused_while_another_run_trains() -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.button(key="home_quick_start_btn").click().run()
    first = job_registry().active()
    second_tab = AppTest.from_file(APP, default_timeout=30).run()
    assert any(first.run_dir.name in c.value for c in second_tab.sidebar.caption)  # "Training now: ..."
    second_tab.button(key="home_quick_start_btn").click().run()
    assert second_tab.title[0].value == "GAN Workbench"  # stayed on Home
    assert any("still training" in e.value for e in second_tab.error)
    assert [j for j in job_registry().jobs.values() if j.alive] == [first]


def test_a_run_stopped_early_shows_its_last_grid_or_a_note_not_the_first_grey_one() -> None:
    early = make_run("early-run", steps=500, stop_at=4, sample_every=200)
    assert sorted(p.name for p in (early / "grids").iterdir()) == ["step-0000001.png", "step-0000004.png"]
    at = AppTest.from_file(APP, default_timeout=30).run()
    captions = [c for img in at.image for c in img.captions]
    assert captions == ["early-run — stopped, step 4/500"]  # the grid it stopped at, not the first step's
    (early / "grids" / "step-0000004.png").unlink()  # as runs saved before the last grid was kept at stop
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.image and any("stopped at step 4/500, before its first samples" in m.value for m in at.markdown)


def test_a_recent_run_card_opens_that_run_on_the_runs_page() -> None:
    make_run("older-run", steps=5)
    make_run("newer-run", steps=5)
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.button(key="home_open_older-run").click().run()
    assert not at.exception and at.title[0].value == "Runs"
    assert at.selectbox(key="runs_selected").value == "older-run"  # not the newest, which Runs shows by default
