"""Metric curves: EMA smoothing with bias correction, metric series, and the figures the pages draw."""

from __future__ import annotations

import math

import pytest

from gan_core.metric_names import COVERAGE_CLASSES, COVERAGE_RECOGNISABLE, KID, LOSS_D, LOSS_G, QUALITY, STEP
from workbench.charts import (
    curves_figure,
    ema_smooth,
    legend_below,
    overlay_figure,
    quality_figure,
    quality_keys,
    quality_readings,
    series,
)


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


def test_compared_quality_gets_its_own_panel_and_axis_not_the_losses() -> None:
    """Issue #20, item 11: quality (a distance, tens at first) on the losses' axis read as one more loss."""
    runs = {"a": [{STEP: 1, LOSS_D: 1.0, LOSS_G: 2.0}, {STEP: 2, LOSS_D: 0.9, QUALITY: 40.0}],
            "b": [{STEP: 1, LOSS_D: 1.2, QUALITY: 50.0}]}
    fig = overlay_figure(runs, [LOSS_D, LOSS_G, QUALITY])
    axis = {t.name: t.yaxis for t in fig.data}
    assert axis["a · loss/D"] == axis["a · loss/G"] == axis["b · loss/D"]
    assert axis["a · quality"] == axis["b · quality"] != axis["a · loss/D"]
    assert [a.text for a in fig.layout.annotations] == ["Losses", "quality (FD): ↓ lower is better"]
    quality_axis = fig.layout[axis["a · quality"].replace("y", "yaxis")]
    assert (fig.layout.yaxis.title.text, quality_axis.title.text) == ("loss", "FD")
    assert fig.layout.height > overlay_figure(runs, [LOSS_D]).layout.height  # a panel more, not a squeezed one


SCORES = [{STEP: 100, QUALITY: 40.0, KID: 70.0, COVERAGE_RECOGNISABLE: 0.2, COVERAGE_CLASSES: 4.0},
          {STEP: 150, LOSS_D: 1.0},
          {STEP: 200, QUALITY: 30.0, KID: 50.0, COVERAGE_RECOGNISABLE: 0.5, COVERAGE_CLASSES: 7.0}]


def test_quality_scores_get_their_own_panels_and_axes_with_their_direction() -> None:
    fig = quality_figure(SCORES, [COVERAGE_RECOGNISABLE, QUALITY, KID, COVERAGE_CLASSES])
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["quality (FD): ↓ lower is better", "KID: ↓ lower is better",
                      "recognisable: ↑ higher is better", "classes drawn: ↑ higher is better"]
    axes = [t.yaxis for t in fig.data]
    assert len(set(axes)) == 4  # KID (70) cannot flatten quality (40): no two scores share an axis
    assert [list(t.y) for t in fig.data][:2] == [[40.0, 30.0], [70.0, 50.0]]
    assert not fig.layout.showlegend  # the panel titles name the curves: no legend to cover anything
    pct_axis = fig.layout[axes[2].replace("y", "yaxis")]
    assert pct_axis.tickformat == ".0%" and list(pct_axis.range) == [0, 1.05]  # shares on their whole scale
    assert len(quality_figure(SCORES, [QUALITY]).data) == 1


def test_readings_show_the_latest_score_and_its_change() -> None:
    got = {r.key: r for r in quality_readings(SCORES, [KID, QUALITY, COVERAGE_RECOGNISABLE, COVERAGE_CLASSES])}
    assert (got[QUALITY].value, got[QUALITY].delta, got[QUALITY].lower_is_better) == ("30", "-10", True)
    assert (got[KID].value, got[KID].delta) == ("50", "-20")
    assert (got[COVERAGE_RECOGNISABLE].value, got[COVERAGE_RECOGNISABLE].delta) == ("50%", "+30 pp")
    assert (got[COVERAGE_CLASSES].value, got[COVERAGE_CLASSES].delta, got[COVERAGE_CLASSES].lower_is_better) == (
        "7", "+3", False)
    assert (got[QUALITY].delta_color, got[COVERAGE_CLASSES].delta_color) == ("inverse", "normal")  # better = green
    same = quality_readings([*SCORES, {STEP: 300, QUALITY: 30.0, COVERAGE_RECOGNISABLE: 0.501}],
                            [QUALITY, COVERAGE_RECOGNISABLE])
    assert [(r.delta, r.changed, r.delta_color) for r in same] == [("±0", False, "off"), ("±0 pp", False, "off")]
    first = quality_readings(SCORES[:1], [QUALITY])
    assert len(first) == 1 and first[0].delta is None  # one score: no change to show
    assert [r.key for r in quality_readings(SCORES, [COVERAGE_CLASSES, KID])] == [KID, COVERAGE_CLASSES]


def test_legends_sit_below_the_plot_not_over_the_title() -> None:
    history = [{STEP: s, LOSS_D: 1.0, LOSS_G: 2.0} for s in range(1, 5)]
    for fig in (curves_figure(history, [LOSS_D, LOSS_G], 0.0, "Losses"), overlay_figure({"a": history}, [LOSS_D])):
        assert fig.layout.legend.y < 0 and fig.layout.legend.yanchor == "top" and fig.layout.legend.orientation == "h"
    # Lower on a short chart (in fractions of its plot area): the same gap in pixels under the "step" title.
    assert legend_below(280)["y"] < legend_below(600)["y"] < 0


def test_comparison_colors_differ_per_run_and_dashes_per_curve() -> None:
    history = [{STEP: s, LOSS_D: 1.0, LOSS_G: 2.0} for s in range(1, 5)]
    names = ["shapes-default-20261130-101500", "mnist-default-20261130-101501", "c", "d"]
    fig = overlay_figure({n: history for n in names}, [LOSS_D, LOSS_G])
    colors = {t.name: t.line.color for t in fig.data}
    assert len({colors[f"{n} · {LOSS_D}"] for n in names}) == 4  # one distinct hue per run
    assert all(colors[f"{n} · {LOSS_D}"] == colors[f"{n} · {LOSS_G}"] for n in names)
    assert {t.line.dash for t in fig.data} == {"solid", "dash"}
    assert f"{names[0]} · {LOSS_D}" in colors  # the whole run name, not cut


def test_charts_read_plainly_issue_20() -> None:
    """Issue #20, item 11: y-axis titles, one tick for one point, no red for an improving distance, no arrow for ±0."""
    losses = curves_figure([{STEP: 10, LOSS_D: 1.0}, {STEP: 20, LOSS_D: 0.8}], [LOSS_D], y_title="loss")
    assert losses.layout.yaxis.title.text == "loss"
    one = quality_figure([{STEP: 500, QUALITY: 40.0}], [QUALITY])
    assert list(one.layout.xaxis.tickvals) == [500] and list(one.layout.xaxis.ticktext) == ["500"]
    falling = quality_figure(SCORES, [QUALITY])
    assert falling.data[0].line.color.upper() != "#D62728"  # a falling FD improves: not drawn in red
    same = quality_readings([*SCORES, {STEP: 300, QUALITY: 30.0}], [QUALITY])
    assert same[0].delta == "±0" and same[0].delta_arrow == "off"
    assert quality_readings(SCORES, [QUALITY])[0].delta_arrow == "auto"


def test_precision_sits_beside_the_frechet_score_and_recall_under_it_both_higher_is_better() -> None:
    from gan_core.metric_names import COPIES, PRECISION, RECALL

    history = [{STEP: 100, QUALITY: 9.0, KID: 2.0, PRECISION: 0.5, RECALL: 0.4, COPIES: 0.0},
               {STEP: 200, QUALITY: 5.0, KID: 1.0, PRECISION: 0.92, RECALL: 0.8, COPIES: 0.02}]
    fig = quality_figure(history, [KID, COPIES, RECALL, PRECISION, QUALITY])
    titles = [a.text for a in fig.layout.annotations]
    assert titles[:3] == ["quality (FD): ↓ lower is better", "looks real (precision): ↑ higher is better",
                          "variety covered (recall): ↑ higher is better"]
    got = {r.key: r.value for r in quality_readings(history, [COPIES, PRECISION, RECALL])}
    assert got == {PRECISION: "92%", RECALL: "80%", COPIES: "2%"}
