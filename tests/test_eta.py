"""The one ETA (gan_core/eta.py), on synthetic speed traces: exact at a steady speed, smooth when the load changes."""

from __future__ import annotations

import pytest

from gan_core.eta import HALF_LIFE, SETTLE_SECONDS, eta_seconds, seconds_per_step
from gan_core.metric_names import IMAGES_PER_SECOND, STEP, TIME

LOG_EVERY = 10  # steps between log entries
TOTAL = 20_000


def trace(speeds: list[float]) -> list[dict[str, float]]:
    """History entries of a run that made LOG_EVERY steps at speeds[i] steps/s before entry i (training time)."""
    history, t = [], 0.0
    for i, speed in enumerate(speeds):
        t += LOG_EVERY / speed
        history.append({STEP: (i + 1) * LOG_EVERY, TIME: t, IMAGES_PER_SECOND: speed * 32})
    return history


def etas(history: list[dict[str, float]]) -> list[float | None]:
    """The ETA shown after each log entry."""
    return [eta_seconds(history[:i + 1], int(history[i][STEP]), TOTAL) for i in range(len(history))]


def test_a_steady_speed_gives_the_exact_time_left_once_settled() -> None:
    history = trace([10.0] * 30)  # one log a second
    shown = etas(history)
    settled = next(i for i, e in enumerate(shown) if e is not None)
    assert history[settled][TIME] >= SETTLE_SECONDS and all(e is None for e in shown[:settled])
    assert shown[-1] == pytest.approx((TOTAL - 300) / 10.0)
    assert eta_seconds(history, TOTAL, TOTAL) == 0.0


def test_when_the_load_halves_the_speed_the_eta_moves_smoothly_to_the_new_time() -> None:
    history = trace([10.0] * 120 + [5.0] * 150)  # 2 minutes at 10 steps/s, then another job takes half the CPU
    shown = etas(history)
    per_step = {i: e / (TOTAL - h[STEP]) for i, (e, h) in enumerate(zip(shown, history)) if e is not None}
    values = list(per_step.values())
    changes = [abs(b / a - 1) for a, b in zip(values, values[1:])]
    # A median of recent logs doubled from one log to the next (0:24 -> 0:48); here no log moves it by 5%.
    assert max(changes) < 0.05
    at_change = 119  # the last log at 10 steps/s; the next logs come every 2 s of training time
    assert per_step[at_change] == pytest.approx(0.1)
    later = next(i for i in range(at_change, len(history)) if history[i][TIME] - history[at_change][TIME] >= HALF_LIFE)
    assert 0.13 < per_step[later] < 0.17  # about half way after one half-life of training time
    assert per_step[len(history) - 1] == pytest.approx(0.2, rel=0.05)  # and there after a few


def test_one_slow_log_does_not_swing_the_eta() -> None:
    history = trace([10.0] * 60 + [2.0] + [10.0] * 90)  # one interval five times slower (a checkpoint, a page load)
    shown = etas(history)
    assert shown[60] / shown[59] < 1.2  # a median would ignore it; a mean of the whole run would keep it for good
    assert shown[-1] == pytest.approx((TOTAL - 1510) / 10.0, rel=0.03)  # forgotten within a few half-lives


def test_scores_and_other_entries_without_time_are_ignored() -> None:
    history = trace([10.0] * 20)
    mixed = [e for h in history for e in (h, {STEP: h[STEP], "quality": 1.0})]
    assert seconds_per_step(mixed) == seconds_per_step(history) == pytest.approx(0.1)
    assert seconds_per_step(history[:3]) is None  # two intervals: no speed yet
