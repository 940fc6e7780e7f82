"""Plotly figures of metric curves, with EMA smoothing: one run's metrics, quality scores in their own panels, or
several runs overlaid; and the latest quality scores as numbers with their change."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from gan_core.metric_names import (
    COPIES,
    COVERAGE_CLASSES,
    COVERAGE_CONFIDENCE,
    COVERAGE_KL,
    COVERAGE_RECOGNISABLE,
    GRAD_KEYS,
    KID,
    LOSS_KEYS,
    LOWER_IS_BETTER,
    MODES_COVERED,
    MODES_HQ,
    MODES_RKL,
    PRECISION,
    PROB_KEYS,
    QUALITY,
    QUALITY_PREFIXES,
    RECALL,
    STEP,
)

# The curves the Runs page offers to overlay, and the ones it starts with.
CURVE_CHOICES = (*LOSS_KEYS, *PROB_KEYS, *GRAD_KEYS, QUALITY)
DEFAULT_CURVES = LOSS_KEYS
# Plain names of the quality scores (the metric names are stable keys, not words for the page).
SCORE_LABELS = {QUALITY: "quality (FD)", KID: "KID", COVERAGE_KL: "class mix (KL)",
                COVERAGE_RECOGNISABLE: "recognisable", COVERAGE_CLASSES: "classes drawn",
                COVERAGE_CONFIDENCE: "confidence", PRECISION: "looks real (precision)",
                RECALL: "variety covered (recall)", COPIES: "look like copies", MODES_COVERED: "modes covered",
                MODES_HQ: "high quality (%)", MODES_RKL: "mode mix (reverse KL)"}
PERCENT_SCORES = (COVERAGE_RECOGNISABLE, COVERAGE_CONFIDENCE, PRECISION, RECALL, COPIES)  # shares, as percentages
BESIDE_FD = (QUALITY, PRECISION, RECALL)  # drawn first, in this order: precision beside the Fréchet score
# Run colors of the comparison chart: ten clearly different hues (Streamlit's theme would draw shades of one blue).
RUN_COLORS = qualitative.D3
METRIC_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")  # one dash per curve of a run
# The legend goes under the plot: above it, it covered the title and sat under the toolbar. Plotly places it in
# fractions of the plot area's height, so the gap that clears the tick labels and the "step" title is about
# LEGEND_GAP_PX over the plot's height (the figure's height less about PLOT_MARGIN_PX of title, axis and legend).
LEGEND_GAP_PX, PLOT_MARGIN_PX = 55, 110


def legend_below(height: int) -> dict:
    """Layout of a horizontal legend under the x axis title of a figure `height` pixels tall."""
    return dict(orientation="h", yanchor="top", y=-LEGEND_GAP_PX / max(height - PLOT_MARGIN_PX, 80), x=0,
                xanchor="left")


def direction(key: str) -> str:
    """'lower is better' or 'higher is better' for a quality-score name."""
    return "lower is better" if key in LOWER_IS_BETTER else "higher is better"


def score_label(key: str) -> str:
    return SCORE_LABELS.get(key, key)


def _score_order(key: str) -> tuple[int, bool]:
    """Sort key of the quality panels and readings: BESIDE_FD first, then lower-is-better scores, then the rest."""
    return (BESIDE_FD.index(key), False) if key in BESIDE_FD else (len(BESIDE_FD), key not in LOWER_IS_BETTER)


def ema_smooth(values: Sequence[float], smoothing: float) -> list[float]:
    """Exponential moving average with a bias correction, so the first points are not pulled toward 0.

    smoothing 0 returns the values unchanged; 0.9 averages over roughly the last 10 points.
    Non-finite values are passed through without updating the average.
    """
    if smoothing <= 0:
        return list(values)
    out, avg, weight = [], 0.0, 0.0
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        avg = smoothing * avg + (1 - smoothing) * v
        weight = smoothing * weight + (1 - smoothing)
        out.append(avg / weight)
    return out


def quality_keys(history: Iterable[Mapping[str, float]]) -> list[str]:
    """The quality-like metric names present in a history, in first-seen order."""
    seen: dict[str, None] = {}
    for entry in history:
        for key in entry:
            if key.startswith(QUALITY_PREFIXES):
                seen.setdefault(key, None)
    return list(seen)


def series(history: Iterable[Mapping[str, float]], key: str) -> tuple[list[float], list[float]]:
    """(steps, values) of one metric; entries without the metric are skipped (quality is logged less often)."""
    xs, ys = [], []
    for entry in history:
        if key in entry and STEP in entry:
            xs.append(float(entry[STEP]))
            ys.append(float(entry[key]))
    return xs, ys


def curves_figure(history: Sequence[Mapping[str, float]], keys: Sequence[str], smoothing: float = 0.0,
                  title: str = "", height: int = 280, y_title: str = "") -> go.Figure:
    """One line per metric of one run, x = generator step; raw values drawn faintly under the smoothed ones."""
    fig = go.Figure()
    for key in keys:
        xs, ys = series(history, key)
        if not xs:
            continue
        if smoothing > 0:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"{key} (raw)", opacity=0.25,
                                     showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=xs, y=ema_smooth(ys, smoothing), mode="lines", name=key))
    fig.update_yaxes(title_text=y_title or None)
    return _layout(fig, title, height)


def quality_figure(history: Sequence[Mapping[str, float]], keys: Sequence[str], smoothing: float = 0.0,
                   row_height: int = 170) -> go.Figure:
    """One small panel per quality score, each with its own y axis and its direction in its title.

    On one axis the KID (around 70 at first) flattened every other line, and coverage (higher is better) shared
    the axis with the distances (lower is better). The Fréchet score comes first with precision beside it and recall
    under it, then the other scores better when lower, then the rest.
    """
    drawn = [k for k in sorted(keys, key=_score_order) if series(history, k)[0]]
    cols = 1 if len(drawn) <= 1 else 2
    rows = max(1, -(-len(drawn) // cols))
    titles = [f"{score_label(k)}: {'↓' if k in LOWER_IS_BETTER else '↑'} {direction(k)}" for k in drawn]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles or None, vertical_spacing=0.6 / rows,
                        horizontal_spacing=0.12)
    for i, key in enumerate(drawn):
        xs, ys = series(history, key)
        cell = dict(row=i // cols + 1, col=i % cols + 1)
        color = "#1F77B4"  # one neutral colour: red read as "getting worse" on a falling, improving distance
        fig.add_trace(go.Scatter(x=xs, y=ema_smooth(ys, smoothing), mode="lines+markers", name=score_label(key),
                                 line=dict(color=color), marker=dict(size=4), showlegend=False), **cell)
        if key in PERCENT_SCORES:  # shares: the whole 0-100% scale (a flat 99.98% drew four "100%" ticks)
            fig.update_yaxes(tickformat=".0%", range=[0, 1.05], **cell)
        elif key == COVERAGE_CLASSES:
            fig.update_yaxes(rangemode="tozero", **cell)
    fig.update_layout(height=rows * row_height + 40, margin=dict(l=10, r=10, t=40, b=10), showlegend=False)
    fig.update_annotations(font_size=12)  # the panel titles fit a half-page column
    return _one_step_tick(fig)


@dataclass
class Reading:
    """A quality score's latest value and its change since the previous score, as text for st.metric."""

    key: str
    label: str
    value: str
    delta: str | None  # None for the first score
    lower_is_better: bool
    changed: bool = True  # False when the change rounds to nothing (st.metric then greys the arrow)

    @property
    def delta_color(self) -> str:
        """st.metric's delta_color: green when the score got better, whichever way better is; grey for no change."""
        return "off" if not self.changed else "inverse" if self.lower_is_better else "normal"

    @property
    def delta_arrow(self) -> str:
        """st.metric's delta_arrow: none for no change ("±0", not "↑ ±0")."""
        return "auto" if self.changed else "off"


def _format_score(key: str, value: float, signed: bool = False) -> str:
    sign = "+" if signed else ""
    if key in PERCENT_SCORES:
        return f"{value * 100:{sign}.0f} pp" if signed else f"{value:.0%}"
    if key == COVERAGE_CLASSES:
        return f"{value:{sign}.0f}"
    return f"{value:{sign}.3g}"


def quality_readings(history: Sequence[Mapping[str, float]], keys: Sequence[str]) -> list[Reading]:
    """The latest value of each score in keys with its change since the score before, in the panels' order."""
    out = []
    for key in sorted(keys, key=_score_order):
        _, ys = series(history, key)
        if not ys:
            continue
        delta = _format_score(key, ys[-1] - ys[-2], signed=True) if len(ys) > 1 else None
        changed = delta is not None and any(c in "123456789" for c in delta.split(" ")[0])
        if delta is not None and not changed:  # "+0" / "-0 pp" read as a change: say there is none
            delta = "±0" + (" pp" if key in PERCENT_SCORES else "")
        out.append(Reading(key, score_label(key), _format_score(key, ys[-1]), delta, key in LOWER_IS_BETTER, changed))
    return out


# The panels of the comparison chart: (title, y-axis title, metrics). Each kind of number has its own axis: quality
# (a distance, tens at first) on the losses' axis flattened the losses and read as one more loss.
OVERLAY_PANELS = (("Losses", "loss", LOSS_KEYS),
                  ("How real D finds real and generated images", "D's output", PROB_KEYS),
                  ("Gradient norms", "norm", GRAD_KEYS),
                  (f"{SCORE_LABELS[QUALITY]}: ↓ {direction(QUALITY)}", "FD", (QUALITY,)))
PANEL_PX = 220  # height of each panel after the first


def overlay_figure(histories: Mapping[str, Sequence[Mapping[str, float]]], keys: Sequence[str],
                   smoothing: float = 0.0, height: int = 360) -> go.Figure:
    """Several runs' curves: one color per run, one dash per metric, the full names in the legend, and one panel
    (with its own y axis) per kind of curve chosen: losses, D's outputs, gradient norms, quality."""
    panels = [(title, y_title, [k for k in keys if k in group]) for title, y_title, group in OVERLAY_PANELS
              if any(k in group for k in keys)]
    panels += [(k, k, [k]) for k in keys if not any(k in group for _, _, group in OVERLAY_PANELS)]
    rows = max(1, len(panels))
    total = height + (rows - 1) * PANEL_PX
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=min(0.3, 70 / total),
                        subplot_titles=[title for title, _, _ in panels] if rows > 1 else None)
    for row, (_, y_title, panel_keys) in enumerate(panels, 1):
        for i, (run, history) in enumerate(histories.items()):
            for key in panel_keys:
                xs, ys = series(history, key)
                if xs:
                    dash = METRIC_DASHES[list(keys).index(key) % len(METRIC_DASHES)]
                    fig.add_trace(go.Scatter(
                        x=xs, y=ema_smooth(ys, smoothing), mode="lines", name=f"{run} · {key}", legendgroup=run,
                        line=dict(color=RUN_COLORS[i % len(RUN_COLORS)], dash=dash)), row=row, col=1)
        fig.update_yaxes(title_text=y_title, row=row, col=1)
    fig.update_xaxes(title_text="step", row=rows, col=1)
    fig.update_layout(height=total, margin=dict(l=10, r=10, t=30, b=10), legend=legend_below(total))
    fig.update_annotations(font_size=12)
    return _one_step_tick(fig)


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    # The title keeps the top; the legend goes below the x axis, where neither the title nor the toolbar is.
    fig.update_layout(title=title or None, height=height, margin=dict(l=10, r=10, t=40 if title else 30, b=10),
                      xaxis_title="step", legend=legend_below(height))
    return _one_step_tick(fig)


def _one_step_tick(fig: go.Figure) -> go.Figure:
    """A figure whose points all sit at one step gets that step as its only tick (not "499 499.5 500")."""
    steps = {float(x) for trace in fig.data for x in (trace.x or ())}
    if len(steps) == 1:
        (step,) = steps
        fig.update_xaxes(tickvals=[step], ticktext=[f"{step:,.0f}"])
    return fig
