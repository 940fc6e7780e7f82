"""CLI progress with tqdm: the training bar (nothing made up, periodic lines in a log) and bars for long steps."""

from __future__ import annotations

import io
import re

import pytest

from gan_core.cli import progress
from gan_core.cli.progress import TaskProgress, TrainProgress, train_stats


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_before_any_metric_the_bar_shows_only_what_is_known() -> None:
    out = io.StringIO()
    bar = TrainProgress(600, stream=out)
    bar.update(0, 600, 0.0, [])
    bar.close()
    text = out.getvalue()
    assert text.splitlines() == ["  0%|          | 0/600 steps | ETA —"]  # at start; close() repeats no line
    assert "nan" not in text and "img/s" not in text


def test_metrics_come_from_the_newest_entries_of_each_kind() -> None:
    out = io.StringIO()
    bar = TrainProgress(370, stream=out)
    history = [{"step": 5, "img/s": 99.0, "loss/D": 9.0, "loss/G": 9.0},
               {"step": 10, "img/s": 1234.4, "loss/D": 0.6931, "loss/G": 0.7123},
               {"step": 10, "quality": 0.1234}]  # scores arrive in entries of their own
    bar.update(10, 370, 10.0, history, force=True)
    last = out.getvalue().splitlines()[-1]
    assert last.endswith("| 10/370 steps | ETA 0:06:00 | 1,234 img/s | D 0.693 G 0.712 | quality 0.12"), last
    bar.update(20, 370, 20.0, [*history, {"step": 20, "img/s": 50.0, "loss/D": 1.0, "loss/G": 2.0}], force=True)
    assert out.getvalue().splitlines()[-1].endswith("| 50 img/s | D 1.000 G 2.000 | quality 0.12")


def test_a_log_gets_periodic_lines_and_a_terminal_one_redrawn_line(monkeypatch: pytest.MonkeyPatch) -> None:
    log = io.StringIO()
    bar = TrainProgress(100, stream=log)  # NON_TTY_SECONDS (10 s) between lines
    for step in range(1, 101):
        bar.update(step, 100, step * 0.01, [{"step": step, "img/s": 10.0, "loss/D": 1.0, "loss/G": 1.0}])
    bar.close()
    lines = log.getvalue().split("\n")
    assert len(lines) == 3 and lines[-1] == "" and "\r" not in log.getvalue()  # start, end, nothing between
    assert lines[1].startswith("100%|##########| 100/100 steps | ETA 0:00:00 | 10 img/s")

    monkeypatch.setattr(progress, "NON_TTY_SECONDS", 0.0)
    log = io.StringIO()
    bar = TrainProgress(5, stream=log)
    for step in range(1, 6):
        bar.update(step, 5, step * 1.0, [])
    bar.close()
    assert [re.search(r"(\d+)/5 steps", line).group(1) for line in log.getvalue().splitlines()] == list("012345")

    tty = Terminal()
    bar = TrainProgress(100, stream=tty)
    for step in range(1, 101):
        bar.update(step, 100, step * 0.01, [])
    bar.close()
    assert tty.getvalue().count("\n") == 1 and tty.getvalue().startswith("\r")  # redrawn in place, ended once


def test_train_stats_leave_out_unknown_values() -> None:
    assert train_stats({}) == ""
    assert train_stats({"loss/D": 1.0}) == ""  # one loss alone is not shown as "D 1.000 G nan"
    assert train_stats({"quality": 2.0}) == " | quality 2.00"


def test_each_long_step_gets_a_bar_that_ends_complete() -> None:
    log = io.StringIO()
    with TaskProgress(log) as report:
        report(0.0, "Drawing shapes 0/4000")
        report(0.5, "Drawing shapes 2000/4000")
        report(1.0, "Loaded 4000 images")
        report(0.0, "Computing real feature statistics")  # a new step: the fraction starts again
        report(0.0, "Training the coverage classifier")  # a new step at the same fraction
    shown = [re.match(r"(.*?) +(\d+)%", line).groups() for line in log.getvalue().splitlines()]
    assert shown == [("Drawing shapes 0/4000", "0"), ("Loaded 4000 images", "100"),
                     ("Computing real feature statistics", "0"), ("Computing real feature statistics", "100"),
                     ("Training the coverage classifier", "0"), ("Training the coverage classifier", "100")]


def test_a_failed_step_is_not_shown_complete() -> None:
    log = io.StringIO()
    with pytest.raises(OSError), TaskProgress(log) as report:
        report(0.25, "Reading images 25/100")
        raise OSError("unreadable")
    assert log.getvalue().splitlines()[-1].startswith("Reading images 25/100  25%")
