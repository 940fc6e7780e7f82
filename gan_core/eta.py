"""The one ETA, shown by the CLI's progress bar and the app: seconds left at the recent, smoothed training speed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .metric_names import STEP, TIME

SETTLE_SECONDS = 10.0  # training seconds before an ETA is shown: the first steps include warm-up
MIN_INTERVALS = 3  # log intervals before one is shown: one or two are no speed yet
HALF_LIFE = 30.0  # seconds of training time after which a log interval counts half: a load change moves the ETA
# over a minute or so instead of at once (a median of recent logs jumped 0:24 -> 0:48 when half the window slowed)


def seconds_per_step(history: Sequence[dict[str, Any]]) -> float | None:
    """Training seconds per step over the history's log entries ({step, time}), recent intervals weighted more.

    Each interval between two log entries counts with weight 2^(-age / HALF_LIFE), its age measured in training
    time from the newest entry; the estimate is the weighted seconds over the weighted steps (not a mean of rates,
    which a single fast interval would skew). The interval before the first entry (warm-up) is never counted.
    None while fewer than MIN_INTERVALS intervals or SETTLE_SECONDS of training are known."""
    points = [(int(h[STEP]), float(h[TIME])) for h in history if TIME in h and STEP in h]
    intervals = [(t1 - t0, s1 - s0, t1) for (s0, t0), (s1, t1) in zip(points, points[1:]) if s1 > s0 and t1 >= t0]
    if len(intervals) < MIN_INTERVALS or points[-1][1] < SETTLE_SECONDS:
        return None
    now = points[-1][1]
    seconds = steps = 0.0
    for dt, ds, end in intervals:
        w = 0.5 ** ((now - end) / HALF_LIFE)
        seconds += w * dt
        steps += w * ds
    return seconds / steps if steps > 0 else None


def eta_seconds(history: Sequence[dict[str, Any]], step: int, total: int) -> float | None:
    """Training seconds until step `total` from `step` at the smoothed recent speed (0 once there); None while
    unknown."""
    if total <= step:
        return 0.0
    per_step = seconds_per_step(history)
    return None if per_step is None else (total - step) * per_step
