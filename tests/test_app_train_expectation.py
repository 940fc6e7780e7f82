"""AppTest: before Start, the Train page says how long the recipe needs here to draw recognisable samples."""

from __future__ import annotations

import json
import socket
import time

import pytest
from conftest import open_page

from gan_core import expectation as gan_expectation
from gan_core.presets import PRESETS, preset_config
from gan_core.runs.folders import checkpoint_root
from gan_core.timefmt import format_seconds
from workbench import expectation

pytestmark = pytest.mark.usefixtures("app_env")
TRAIN_PAGE = "pages/2_Train.py"


def lines(at) -> list[str]:
    return [m.value for m in at.markdown if "Recognisable" in m.value]


def test_the_line_uses_the_last_run_of_the_recipe_here() -> None:
    cfg = preset_config("shapes-default")
    run = checkpoint_root() / "shapes-earlier"
    run.mkdir(parents=True)
    meta = {"name": run.name, "status": "stopped", "preset": "shapes-default", "step": 2000, "train_seconds": 100.0,
            "updated": time.time(), "writer": {"host": socket.gethostname(), "pid": 1}, "world_size": 1,
            "config": cfg.to_dict()}
    (run / "meta.json").write_text(json.dumps(meta))
    at = open_page(TRAIN_PAGE, "Train")
    steps = PRESETS["shapes-default"].recognisable_after  # 20 steps/s below
    assert steps is not None
    assert lines(at) == [f"Recognisable shapes after about **{steps:,} steps**: about **{format_seconds(steps / 20)}** "
                         "of training here (20.0 steps/s, measured by your last run of this recipe here, "
                         "shapes-earlier)."]
    # Another batch size is another recipe as far as speed goes: that run no longer counts.
    at.text_input(key="train_batch_size").set_value("64").run()
    assert lines(at) == [f"Recognisable shapes after about **{steps:,} steps**; how long that takes here is measured "
                         "when the run starts."]


def test_without_a_run_a_short_probe_measures_this_machine_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(expectation.PROBE_ENV, "1")
    monkeypatch.setattr(gan_expectation, "PROBE_SECONDS", 0.3)
    at = open_page(TRAIN_PAGE, "Train")
    first = lines(at)
    assert len(first) == 1 and "Measuring this machine's speed" in first[0]
    expectation.wait_for_probes()
    at.run()
    (line,) = lines(at)
    steps = PRESETS["shapes-default"].recognisable_after
    assert line.startswith(f"Recognisable shapes after about **{steps:,} steps**: about **")
    assert line.endswith(" steps/s, measured by a 0.3 s probe on this machine).")
    assert gan_expectation.cached_probe(preset_config("shapes-default")) is not None  # kept for the next session


def test_recipes_without_a_measured_time_to_quality_say_nothing() -> None:
    at = open_page(TRAIN_PAGE, "Train")
    at.selectbox(key="train_preset").set_value("triangles-mlp").run()
    assert lines(at) == []
