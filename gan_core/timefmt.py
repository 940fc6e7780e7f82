"""The one time formatter: seconds as h:mm:ss for progress lines, ETAs and tables."""

from __future__ import annotations

import math

UNKNOWN = "—"


def format_seconds(seconds: float | None) -> str:
    """'1:02:03' for 3723.4 s; UNKNOWN for None, negative or non-finite values."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return UNKNOWN
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
