"""Plotly figures of metric curves, with EMA smoothing: one run's metrics, or several runs overlaid."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import plotly.graph_objects as go

from gan_core.metric_names import GRAD_KEYS, LOSS_KEYS, PROB_KEYS, QUALITY, QUALITY_PREFIXES, STEP

# The curves the Runs page offers to overlay, and the ones it starts with.
CURVE_CHOICES = (*LOSS_KEYS, *PROB_KEYS, *GRAD_KEYS, QUALITY)
DEFAULT_CURVES = LOSS_KEYS


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
                  title: str = "", height: int = 280) -> go.Figure:
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
    return _layout(fig, title, height)


def overlay_figure(histories: Mapping[str, Sequence[Mapping[str, float]]], keys: Sequence[str],
                   smoothing: float = 0.0, height: int = 360) -> go.Figure:
    """Several runs' curves on one chart: one line per (run, metric)."""
    fig = go.Figure()
    for run, history in histories.items():
        for key in keys:
            xs, ys = series(history, key)
            if xs:
                fig.add_trace(go.Scatter(x=xs, y=ema_smooth(ys, smoothing), mode="lines", name=f"{run} · {key}"))
    return _layout(fig, "", height)


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    # With a title, the top margin holds it above the legend row (at 40 px they overlapped).
    fig.update_layout(title=title or None, height=height, margin=dict(l=10, r=10, t=70 if title else 10, b=10),
                      xaxis_title="step", legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0))
    return fig
