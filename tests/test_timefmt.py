"""The one time formatter: h:mm:ss for the CLI's progress line, the Train page and the Runs table."""

from __future__ import annotations

import math

import pytest

from gan_core.timefmt import UNKNOWN, format_seconds


@pytest.mark.parametrize("seconds,text", [
    (0, "0:00:00"), (59.4, "0:00:59"), (59.6, "0:01:00"), (61, "0:01:01"), (3599, "0:59:59"), (3723.4, "1:02:03"),
    (100 * 3600 + 5, "100:00:05"),
])
def test_hours_minutes_seconds(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


@pytest.mark.parametrize("seconds", [None, -1.0, math.nan, math.inf])
def test_unknown_values_show_a_dash(seconds: float | None) -> None:
    assert format_seconds(seconds) == UNKNOWN == "—"


def test_the_cli_progress_line_uses_it() -> None:
    import io

    from gan_core.cli.progress import TrainProgress

    out = io.StringIO()
    TrainProgress(370, stream=out).update(step=10, total=370, seconds=10.0, history=[{"img/s": 5.0}], force=True)
    assert "ETA 0:06:00 |" in out.getvalue()  # 360 steps left at 1 step/s
