"""AppTest of the Explore page: runs listed, images drawn, sliders/seeds/classes change them, live runs, downloads."""

from __future__ import annotations

import re
import sys

import pytest
from conftest import make_run, open_page, tiny_config, wait_until
from streamlit.testing.v1 import AppTest

from gan_core.runs.folders import checkpoint_root
from workbench.jobs import job_registry

pytestmark = pytest.mark.usefixtures("app_env")
EXPLORE_PAGE = "pages/3_Explore.py"


def explore_page() -> AppTest:
    return open_page(EXPLORE_PAGE, "Explore")


def main_image(at: AppTest) -> str:
    """The URL of the main sample; AppTest's media URLs are content hashes, so equal URL <=> equal PNG bytes."""
    return next(img for img in at.image if img.captions[0].startswith("Seed ")).value[0]


def test_empty_state_points_to_training() -> None:
    at = explore_page()
    assert any("No trained runs yet" in i.value for i in at.info)


def test_checkpoint_is_listed_and_sliders_change_the_image() -> None:
    make_run("explore-run", steps=20)
    at = explore_page()
    assert at.selectbox(key="explore_run").options == ["explore-run"]
    assert at.slider(key="explore_pc_0").value == 0.0 and at.slider(key="explore_dim_0").value == 0.0
    assert at.slider(key="explore_pc_7").label == "PC 8" and at.slider(key="explore_dim_7").label == "z[7] offset"
    assert "explore_pc_8" not in {s.key for s in at.slider}  # k = 8 of each
    first = main_image(at)
    at.slider(key="explore_pc_0").set_value(2.5).run()
    moved = main_image(at)
    assert moved != first
    at.slider(key="explore_pc_0").set_value(0.0).run()
    assert main_image(at) == first  # same seed and sliders: the very same image (deterministic)
    at.slider(key="explore_dim_0").set_value(-2.0).run()
    assert main_image(at) not in (first, moved)
    at.button(key="explore_reset_btn").click().run()
    assert main_image(at) == first and at.slider(key="explore_dim_0").value == 0.0


def test_seed_truncation_row_interpolation_and_downloads() -> None:
    make_run("explore-run", steps=20)
    at = explore_page()
    first = main_image(at)
    at.number_input(key="explore_seed").set_value(7).run()
    seven = main_image(at)
    assert seven != first
    at.button(key="explore_random_btn").click().run()
    assert at.number_input(key="explore_seed").value != 7
    at.number_input(key="explore_seed").set_value(7).run()
    assert main_image(at) == seven
    at.slider(key="explore_truncation").set_value(0.5).run()
    assert main_image(at) != seven
    captions = [c for img in at.image for c in img.captions]
    assert any(c.startswith("Along PC 1") for c in captions)
    assert any(c.startswith("Seed 7 → seed 1 (slerp)") for c in captions)
    assert at.get("download_button")[0].label == "Download PNG" and at.get("download_button")[1].label == "Download GIF"
    strip = next(img for img in at.image if img.captions[0].startswith("Seed 7 →")).value[0]
    at.radio(key="explore_interp_mode").set_value("lerp").run()
    assert next(img for img in at.image if img.captions[0].startswith("Seed 7 →")).value[0] != strip
    drawn = next(c.value for c in at.caption if c.value.startswith("Drawn in"))
    assert int(re.search(r"(\d+) ms", drawn).group(1)) < 2000  # generous: the point is "interactive", not a benchmark


def test_conditional_model_offers_its_classes() -> None:
    make_run("cond-run", steps=20, conditional=True)
    at = explore_page()
    classes = at.selectbox(key="explore_class")
    assert classes.options == ["any class (a random one per seed)", "triangle", "square", "circle"]
    assert classes.value == -1  # any class by default
    drawn = {}
    for value in (0, 1, 2):
        at.selectbox(key="explore_class").set_value(value).run()
        drawn[value] = main_image(at)
    assert len(set(drawn.values())) == 3  # each class draws something else
    at.selectbox(key="explore_class").set_value(-1).run()
    assert main_image(at) in drawn.values()  # "any class" is one of the classes, drawn from the seed


def copy_step(at: AppTest) -> int:
    """The step of the live copy the page explores, from its caption."""
    caption = next(c.value for c in at.caption if "live copy at step" in c.value)
    return int(re.search(r"live copy at step (\d+)", caption).group(1))


def test_the_run_training_now_is_explored_through_a_copy() -> None:
    cfg = tiny_config(steps=100_000)
    job = job_registry().start(cfg, checkpoint_root() / "live-run")
    wait_until(lambda: job.snapshot().step >= 2, what="the live run to train")
    at = explore_page()
    assert at.selectbox(key="explore_run").value == "live-run"
    first = copy_step(at)
    main_image(at)  # drawn from the copy (StopIteration without it)
    wait_until(lambda: job.snapshot().step > first, what="training to go on")  # exploring did not stop it
    assert job.alive
    at.run()
    assert copy_step(at) == first  # the session keeps its copy...
    at.button(key="explore_refresh_btn").click().run()
    assert not at.exception and copy_step(at) > first  # ...until it asks for a fresh one


def test_the_generator_can_be_downloaded_as_onnx() -> None:
    make_run("explore-run", steps=20)
    at = explore_page()
    onnx_button = at.get("download_button")[-1]
    assert onnx_button.label == "Download generator (ONNX)" and not at.exception


def test_without_onnx_the_page_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now fails, as where it is not installed
    make_run("explore-run", steps=20)
    at = explore_page()
    assert "Download generator (ONNX)" not in [b.label for b in at.get("download_button")]
    assert any(c.value.startswith("ONNX export needs the onnx package") for c in at.caption)


def test_the_sample_shows_its_three_nearest_training_images_with_distances() -> None:
    make_run("neighbours-run", steps=10)
    at = explore_page()
    assert not any(img.captions[0].startswith("#") for img in at.image)  # off until asked: it loads the set
    at.toggle(key="explore_neighbours").set_value(True).run()
    shown = [img.captions[0] for img in at.image if img.captions[0].startswith("#")]
    # 128 tiny shapes: a small set, so by features and by pixels, 3 each, each with its distance.
    assert len(shown) == 6 and all(re.fullmatch(r"#\d+ · \d+\.\d{3}", c) for c in shown), shown
    assert any(m.value.startswith(("**Not a copy**", "**Likely a copy**")) for m in at.markdown)
