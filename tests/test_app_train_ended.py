"""AppTest of the Train page around a run's end (issue #20, items 6-8): the last run after a reload with Continue
and Start again, Stop pressed while the data set loads, and a refused Start that stays on screen."""

from __future__ import annotations

import threading

import pytest
from conftest import make_run, open_page, tiny_data_config, wait_until

import gan_core.train.trainer
from gan_core.job import NOTHING_KEPT
from gan_core.runs.folders import checkpoint_root, list_runs
from workbench.jobs import job_registry
from workbench.train_form import RUN_NAME_KEY

pytestmark = pytest.mark.usefixtures("app_env")
TRAIN_PAGE = "pages/2_Train.py"


def test_a_reload_after_stop_shows_the_last_run_with_continue_and_start_again() -> None:
    make_run("stopped-run", steps=40, stop_at=12)
    at = open_page(TRAIN_PAGE, "Train")  # a new session: it never watched the run
    assert any(m.value == "**Run `stopped-run`: stopped**" for m in at.markdown)
    assert not any("No run yet" in i.value for i in at.info) and at.image  # its grid, not "No run yet"
    at.button(key="train_continue_btn").click().run()
    job = job_registry().get("stopped-run")
    assert job is not None and not at.error
    wait_until(lambda: not job.alive, what="the continued run to end")
    assert job.snapshot().status == "done" and job.snapshot().step == 40  # continued to its total

    at.run()
    at.button(key="train_again_btn").click().run()
    again = [j for j in job_registry().jobs.values() if j.run_dir.name != "stopped-run"]
    assert len(again) == 1 and again[0].config.train.steps == 40 and not at.error
    wait_until(lambda: not again[0].alive, what="the new run to end")


def test_stop_while_loading_is_acknowledged_at_once_and_keeps_no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    loading, release = threading.Event(), threading.Event()
    real_init = gan_core.train.trainer.Trainer.__init__

    def slow_init(self, *args, **kwargs) -> None:  # the data set takes its time to load
        loading.set()
        release.wait(30)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(gan_core.train.trainer.Trainer, "__init__", slow_init)
    at = open_page(TRAIN_PAGE, "Train", tiny_data_config())
    at.text_input(key="train_run_name").set_value("never-trained")
    at.button(key="train_start_btn").click().run()
    assert loading.wait(30)
    at.button(key="train_stop_btn").click().run()
    assert any("Stopping" in i.value for i in at.info), [i.value for i in at.info]  # at once, while still loading
    release.set()
    job = job_registry().get("never-trained")
    wait_until(lambda: not job.alive, what="the stopped thread to end")
    assert job.snapshot().message == NOTHING_KEPT
    assert not (checkpoint_root() / "never-trained").exists() and not list_runs()  # not in Runs, not on Home


def test_a_refused_start_stays_on_screen_while_the_page_redraws_for_the_run_that_started() -> None:
    first_tab = open_page(TRAIN_PAGE, "Train", tiny_data_config())
    second_tab = open_page(TRAIN_PAGE, "Train", tiny_data_config())
    first_tab.text_input(key="train_steps").set_value("100000")
    # Tabs opened in the same second propose the same timestamped name: the run that trains is still what is said.
    name = first_tab.text_input(key=RUN_NAME_KEY).value
    second_tab.text_input(key=RUN_NAME_KEY).set_value(name)
    first_tab.button(key="train_start_btn").click().run()
    wait_until(lambda: (checkpoint_root() / name).exists(), what="the first run's folder")
    second_tab.button(key="train_start_btn").click().run()
    refused = [e.value for e in second_tab.error if "still training" in e.value]
    assert refused
    second_tab.run()  # the live panel reruns the page when the other tab's run changes status
    assert [e.value for e in second_tab.error if "still training" in e.value] == refused
    job_registry().active().stop()
