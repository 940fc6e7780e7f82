"""AppTest of the Runs page: the table, overlaid curves, the sample timeline, resume, and delete with confirmation."""

from __future__ import annotations

import io
import json
import math

import pytest
from conftest import make_run, open_page, tiny_config, wait_until
from PIL import Image
from streamlit.testing.v1 import AppTest

from gan_core.errors import UserError
from gan_core.runs.folders import checkpoint_root, list_runs
from workbench.jobs import job_registry
from workbench.runs import remove_run, timeline_gif

pytestmark = pytest.mark.usefixtures("app_env")
RUNS_PAGE = "pages/4_Runs.py"


def runs_page() -> AppTest:
    return open_page(RUNS_PAGE, "Runs")


def test_table_lists_runs_with_their_settings_and_results() -> None:
    make_run("run-a", steps=20)
    make_run("run-b", steps=10, loss="hinge")
    at = runs_page()
    table = at.dataframe[0].value.set_index("run")
    assert set(table.index) == {"run-a", "run-b"}
    assert table.loc["run-a", "status"] == "done" and table.loc["run-a", "step"] == 20
    assert (table.loc["run-b", "data set"], table.loc["run-b", "architecture"], table.loc["run-b", "loss"]) == (
        "shapes", "mlp", "hinge")
    assert math.isfinite(table.loc["run-a", "loss/D"]) and table.loc["run-a", "checkpoints"] >= 1
    # An unscored run's quality is missing: the table shows a dash there, not "None".
    assert table["quality (FD), lower is better"].isna().all() and at.dataframe[0].proto.placeholder == "—"


def test_curves_overlay_and_timeline_with_gif() -> None:
    make_run("run-a", steps=20, sample_every=10)
    make_run("run-b", steps=20, sample_every=10)
    at = runs_page()
    at.multiselect(key="runs_compare").set_value(["run-a", "run-b"]).run()
    chart = at.get("plotly_chart")
    assert len(chart) == 1
    names = {trace["name"] for trace in json.loads(chart[0].proto.spec)["data"]}
    assert names == {"run-a · loss/D", "run-a · loss/G", "run-b · loss/D", "run-b · loss/G"}
    at.selectbox(key="runs_selected").set_value("run-a").run()
    timeline = at.select_slider(key="runs_timeline_step")
    assert timeline.options == ["1", "10", "20"] and timeline.value == 20
    timeline.set_value(10).run()
    assert any(c.endswith("samples at step 10") for img in at.image for c in img.captions)
    # The GIF is made on request with a progress bar (17.5 s in silence before: issue #20, item 12), then offered.
    assert not at.get("download_button")
    at.button(key="runs_gif_make").click().run()
    assert [b.proto.label for b in at.get("download_button")] == [
        f"Download the timeline as a GIF ({len(timeline_gif(by_name('run-a'))) / 1e3:.0f} kB)"]
    told: list[tuple[float, str]] = []
    gif = timeline_gif(by_name("run-a"), lambda done, what: told.append((done, what)))
    assert told == [(0.0, "Frame 1 of 3"), (1 / 3, "Frame 2 of 3"), (2 / 3, "Frame 3 of 3"), (1.0, "Writing the GIF")]
    assert gif.startswith(b"GIF8")
    with Image.open(io.BytesIO(gif)) as im:
        assert im.n_frames == 3  # one frame per saved grid
    at.selectbox(key="runs_selected").set_value("run-b").run()  # another run: its own GIF, made on request
    assert not at.get("download_button") and at.button(key="runs_gif_make")


def by_name(name: str):
    return next(r for r in list_runs() if r.name == name)


def test_delete_needs_confirmation_and_removes_the_folder() -> None:
    folder = make_run("doomed", steps=5)
    make_run("kept", steps=5)
    at = runs_page()
    at.selectbox(key="runs_selected").set_value("doomed").run()
    at.session_state["runs_tab"] = "Delete"  # the user opens the Delete tab
    at.run()
    at.button(key="runs_delete_btn").click().run()
    # The refusal is said in the Delete tab, beside the box it asks for, and that tab stays the open one
    # (a message above the tabs made the browser reset them to the first tab).
    assert at.session_state["runs_tab"] == "Delete" and folder.is_dir()
    delete_tab = at.tabs[2]
    assert any("Tick the box" in w.value for w in delete_tab.warning) and len(at.warning) == 1  # none above
    assert delete_tab.checkbox(key="runs_delete_confirm").value is False
    at.checkbox(key="runs_delete_confirm").check().run()
    at.button(key="runs_delete_btn").click().run()
    assert not at.exception
    assert not folder.exists()
    assert any("Deleted run 'doomed'" in s.value for s in at.success)
    assert list(at.dataframe[0].value["run"]) == ["kept"]


def test_delete_is_refused_while_the_run_trains() -> None:
    job = job_registry().start(tiny_config(steps=100_000), checkpoint_root() / "busy")
    wait_until(lambda: job.snapshot().step >= 1, what="the run to start")
    at = runs_page()
    at.selectbox(key="runs_selected").set_value("busy").run()
    # The Delete tab says why and greys out its box and button while the run trains.
    assert at.button(key="runs_delete_btn").disabled and at.checkbox(key="runs_delete_confirm").disabled
    assert any("is training" in c.value for c in at.tabs[2].caption)
    with pytest.raises(UserError, match="is training"):  # the rule behind the button holds on its own too
        remove_run("busy")
    assert (checkpoint_root() / "busy").is_dir() and job.alive
    job.stop()
    wait_until(lambda: not job.alive, what="the run to stop")
    at.run()
    assert not at.button(key="runs_delete_btn").disabled and not at.checkbox(key="runs_delete_confirm").disabled


def test_resume_continues_a_stopped_run_and_opens_train() -> None:
    folder = make_run("paused-run", steps=16, stop_at=10)
    at = runs_page()
    at.selectbox(key="runs_selected").set_value("paused-run").run()
    assert any(c.value.startswith("Status: stopped · step 10/16") for c in at.caption)
    assert at.number_input(key="runs_resume_total").value == 16  # default: the planned end of the run
    at.button(key="runs_resume_btn").click().run()
    assert not at.exception and at.title[0].value == "Train"
    job = job_registry().get("paused-run")
    wait_until(lambda: not job.alive, what="the resumed run to finish")
    snap = job.snapshot()
    assert snap.status == "done" and snap.step == 16 and snap.total_steps == 16
    assert snap.history[0]["step"] <= 10  # the history continued from the checkpoint, not from scratch
    assert list_runs()[0].meta["step"] == 16 and folder.is_dir()
