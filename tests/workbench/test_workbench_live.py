"""Live renderings shared by polling tabs: built once per change, long mixed histories drawn to their newest step."""

from __future__ import annotations

import io

import pytest
import torch
from PIL import Image

from gan_core.metric_names import (
    COVERAGE_CLASSES,
    COVERAGE_RECOGNISABLE,
    IMAGES_PER_SECOND,
    LOSS_D,
    LOSS_G,
    QUALITY,
    STEP,
    TIME,
)
from gan_core.runs.snapshot import JobSnapshot
from gan_core.runs.status import LOST_STATUS
from workbench.live import (
    MAX_POINTS,
    chart,
    grid_png,
    has_grid,
    readings,
    recognition_line,
    speed_line,
    status_line,
    thin,
    train_charts,
)


def mixed_history(log_steps: int) -> list[dict[str, float]]:
    """The app's cadence: a loss entry every 10 steps and a grid-diversity entry every 5 steps."""
    history: list[dict[str, float]] = []
    for step in range(5, 10 * log_steps + 1, 5):
        history.append({STEP: step, "diversity": 0.5})
        if step % 10 == 0:
            history.append({STEP: step, LOSS_D: 1.0, LOSS_G: 2.0})
    return history


def test_thin_keeps_the_newest_entry_and_an_even_stride() -> None:
    history = [{STEP: i} for i in range(1, 1001)]
    thinned = thin(history)
    assert len(thinned) <= MAX_POINTS and thinned[-1][STEP] == 1000
    assert len({b[STEP] - a[STEP] for a, b in zip(thinned, thinned[1:])}) == 1
    assert thin(history[:10]) == history[:10]


def test_loss_chart_of_a_long_mixed_history_has_no_gaps_and_reaches_the_last_step() -> None:
    snap = JobSnapshot(run_name="long-mixed", status="running", history=mixed_history(900))  # 2,700 entries
    fig = chart(snap, [LOSS_D, LOSS_G], 0.0, "Losses")
    for trace in fig.data:
        steps = list(trace.x)
        assert steps[-1] == 9000, trace.name
        assert 300 <= len(steps) <= MAX_POINTS, trace.name
        assert max(b - a for a, b in zip(steps, steps[1:])) <= 30, trace.name  # an even stride of loss entries


def test_a_chart_is_built_once_per_history_length_and_rebuilt_when_it_grows() -> None:
    snap = JobSnapshot(run_name="memo", status="running", history=mixed_history(3))
    first = chart(snap, [LOSS_D], 0.5, "Losses")
    assert chart(JobSnapshot(run_name="memo", status="running", history=list(snap.history)), [LOSS_D], 0.5,
                 "Losses") is first  # another tab's snapshot of the same state: the same figure object
    snap.history.append({STEP: 40, LOSS_D: 0.1})
    grown = chart(snap, [LOSS_D], 0.5, "Losses")
    assert grown is not first and list(grown.data[-1].x)[-1] == 40


def test_the_train_page_charts_add_quality_once_the_run_is_scored() -> None:
    snap = JobSnapshot(run_name="scored", status="running", history=mixed_history(2))
    assert list(train_charts(snap, 0.0)) == ["losses", "probs"]
    snap.history.append({STEP: 20, QUALITY: 1.5})
    charts = train_charts(snap, 0.0)
    assert list(charts) == ["losses", "probs", "quality"]
    assert [t.name for t in charts["quality"].data] == ["quality (FD)"]  # its plain name, in its own panel
    assert [(r.key, r.value, r.delta) for r in readings(snap)] == [(QUALITY, "1.5", None)]
    snap.history.append({STEP: 30, QUALITY: 1.25})
    assert [(r.value, r.delta) for r in readings(snap)] == [("1.25", "-0.25")]
    assert [t.name for t in charts["losses"].data] == [LOSS_D, LOSS_G]


def test_grid_png_is_the_latest_grid_enlarged() -> None:
    grid = torch.zeros(4, 3, 8, 8, dtype=torch.uint8)
    png = grid_png(JobSnapshot(run_name="grid", status="running", grid=grid, grid_step=7), min_side=100)
    with Image.open(io.BytesIO(png)) as im:
        assert im.format == "PNG" and im.size == (88, 88)  # 2 x 2 cells of 8 px + 2 px padding = 22 px, times 4


def _running(history_rates: list[float], **fields: object) -> JobSnapshot:
    # 10 steps per training second from 20 s on (the ETA's speed); img/s as given (the speed shown)
    history = [{STEP: 10 * (i + 1), TIME: 20.0 + i, IMAGES_PER_SECOND: r} for i, r in enumerate(history_rates)]
    snap = JobSnapshot(run_name="s", status="running", step=100, total_steps=400, train_seconds=61.0,
                       images_per_second=history_rates[-1] if history_rates else 0.0, hardware="CPU, 2 threads, fp32",
                       history=history, batch_size=32)
    for k, v in fields.items():
        setattr(snap, k, v)
    return snap


def test_speed_line_gives_the_eta_and_the_latest_speed_and_no_speed_once_paused() -> None:
    snap = _running([320.0, 3200.0, 320.0, 320.0])
    assert speed_line(snap) == "ETA **0:00:30** · **320** images/second · **0:01:01** trained · CPU, 2 threads, fp32"
    snap.status, snap.hardware = "paused", ""
    assert speed_line(snap) == "**0:01:01** trained"  # no ETA, no stale speed
    snap.status = "stopped"
    assert speed_line(snap) == "**0:01:01** trained"


def test_the_eta_stays_hidden_until_the_speed_has_settled() -> None:
    assert _running([320.0, 320.0, 320.0]).eta_seconds is None  # too few logs to call it a speed (eta.py)
    assert _running([320.0] * 4).eta_seconds == pytest.approx(30.0)  # (400 - 100) steps at 10 steps a second
    assert _running([320.0] * 4, status="paused").eta_seconds is None


def test_recognition_line_names_classes_drawn_and_recognisable_share() -> None:
    snap = _running([320.0] * 3, class_names=[str(d) for d in range(10)], dataset="mnist")
    assert recognition_line(snap) is None  # no score yet
    snap.history.append({STEP: 500, COVERAGE_CLASSES: 9.0, COVERAGE_RECOGNISABLE: 0.923})
    assert recognition_line(snap).startswith("**9/10 digits drawn, 92% recognisable**")
    snap.dataset = "cifar10"
    assert "9/10 classes drawn" in recognition_line(snap)
    snap.class_names = []  # an unlabelled set has no classifier
    assert recognition_line(snap) is None


def test_a_watched_run_shows_its_saved_grid_file_enlarged(tmp_path) -> None:
    path = tmp_path / "step-0000040.png"
    Image.new("L", (34, 34), 200).save(path)  # a grayscale grid as the writer saves it
    snap = JobSnapshot("theirs", "running", grid_step=40, grid_file=str(path))
    assert has_grid(snap) and not has_grid(JobSnapshot("none", "running"))
    with Image.open(io.BytesIO(grid_png(snap, min_side=102))) as im:
        assert im.mode == "RGB" and im.size == (102, 102) and im.getpixel((50, 50)) == (200, 200, 200)


def test_the_status_line_names_who_trains_a_run_elsewhere() -> None:
    assert status_line(JobSnapshot("mine", "running")) == "Run `mine`: running"
    theirs = JobSnapshot("theirs", "paused", elsewhere="training elsewhere (gpu-box, pid 7)")
    assert status_line(theirs) == "Run `theirs`: paused · training elsewhere (gpu-box, pid 7)"
    lost = JobSnapshot("theirs", LOST_STATUS, elsewhere="stopped or lost (no update for 5 min)")
    assert status_line(lost) == "Run `theirs`: stopped or lost (no update for 5 min)"


def test_the_status_line_names_the_step_of_a_parked_run_only() -> None:
    pausing = JobSnapshot("mine", "paused", step=1234)  # the command is in, the step in flight may still land
    assert status_line(pausing) == "Run `mine`: paused"
    pausing.parked = True
    assert status_line(pausing) == "Run `mine`: paused at step 1,234"


def test_fidelity_and_copies_lines_in_plain_words_and_the_pairs_picture() -> None:
    from gan_core.metric_names import COPIES, COPY_REFERENCE, COPY_THRESHOLD, PRECISION, RECALL
    from workbench.live import copies_line, copies_png, fidelity_line

    snap = JobSnapshot("r", "running", history=[{STEP: 10, LOSS_D: 1.0}])
    assert fidelity_line(snap) is None and copies_line(snap) is None and copies_png(snap) is None
    snap.history.append({STEP: 500, QUALITY: 3.0, PRECISION: 0.921, RECALL: 0.8, COPIES: 0.02,
                         COPY_THRESHOLD: 0.0397, COPY_REFERENCE: 60})
    assert fidelity_line(snap).startswith("**92% of samples look real · 80% of the real variety covered**")
    line = copies_line(snap)
    assert line.startswith("**2% of samples look like copies of a training image**") and "0.040" in line
    assert "60 training images" in line
    snap.copies = torch.zeros(4, 3, 8, 8, dtype=torch.uint8)  # two pairs: sample, original, sample, original
    with Image.open(io.BytesIO(copies_png(snap))) as im:
        assert im.width >= 384 and im.width > im.height  # two pairs side by side in one row
