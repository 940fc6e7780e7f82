"""Metric curves: EMA smoothing with bias correction, metric series, and the figures the pages draw."""

from __future__ import annotations

import math

import pytest

from gan_core.metric_names import LOSS_D, LOSS_G, QUALITY, STEP
from workbench.charts import curves_figure, ema_smooth, overlay_figure, quality_keys, series


def test_smoothing_starts_at_the_first_value_not_at_zero() -> None:
    # Without the bias correction the average starts from 0: 0.1 x 4 = 0.4 for the first point.
    assert ema_smooth([4.0, 4.0, 4.0], 0.9) == pytest.approx([4.0, 4.0, 4.0])
    smoothed = ema_smooth([2.0, 0.0], 0.5)
    assert smoothed[0] == pytest.approx(2.0)
    assert smoothed[1] == pytest.approx((0.5 * 0.5 * 2.0) / (1 - 0.25))  # weights 1/3 and 2/3: 2/3


def test_smoothing_follows_a_step_gradually_and_zero_means_raw() -> None:
    values = [0.0] * 5 + [1.0] * 20
    smoothed = ema_smooth(values, 0.8)
    assert smoothed[:5] == pytest.approx([0.0] * 5)
    assert smoothed[5] == pytest.approx(0.2 / (1 - 0.8**6))  # the first 1.0 weighs 0.2 of the 0.74 seen so far
    assert smoothed == sorted(smoothed) and 0.95 < smoothed[-1] < 1.0
    assert ema_smooth(values, 0.0) == values


def test_non_finite_values_pass_through_without_poisoning_the_average() -> None:
    smoothed = ema_smooth([1.0, math.nan, math.inf, 1.0], 0.9)
    assert smoothed[0] == pytest.approx(1.0) and math.isnan(smoothed[1]) and smoothed[2] == math.inf
    assert smoothed[3] == pytest.approx(1.0)


def test_series_skips_entries_without_the_metric_and_quality_keys_are_found() -> None:
    history = [{STEP: 10, LOSS_D: 1.0}, {STEP: 15, "diversity": 0.5}, {STEP: 20, LOSS_D: 0.5, QUALITY: 3.0},
               {STEP: 20, "coverage/classes": 7.0, "kid": 0.1}]
    assert series(history, LOSS_D) == ([10.0, 20.0], [1.0, 0.5])
    assert quality_keys(history) == [QUALITY, "coverage/classes", "kid"]


def test_curves_figure_draws_raw_values_faintly_under_the_smoothed_line() -> None:
    history = [{STEP: s, LOSS_D: 1.0 / s, LOSS_G: float(s)} for s in range(1, 11)]
    plain = curves_figure(history, [LOSS_D, LOSS_G, QUALITY], 0.0, "Losses")
    assert [t.name for t in plain.data] == [LOSS_D, LOSS_G]  # no quality entries: no empty trace
    smooth = curves_figure(history, [LOSS_D], 0.6)
    raw, line = smooth.data
    assert raw.opacity == 0.25 and not raw.showlegend and list(raw.y) == [1.0 / s for s in range(1, 11)]
    assert list(line.y) == pytest.approx(ema_smooth(list(raw.y), 0.6))


def test_overlay_figure_names_each_run_and_metric() -> None:
    runs = {"a": [{STEP: 1, LOSS_D: 1.0}], "b": [{STEP: 1, LOSS_D: 2.0, LOSS_G: 3.0}]}
    fig = overlay_figure(runs, [LOSS_D, LOSS_G], 0.5)
    assert [t.name for t in fig.data] == ["a · loss/D", "b · loss/D", "b · loss/G"]
