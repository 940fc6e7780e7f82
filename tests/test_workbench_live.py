"""Live renderings shared by polling tabs: long, mixed histories still draw every curve to its newest step."""

from __future__ import annotations

from gan_core.job import JobSnapshot
from workbench.live import MAX_POINTS, chart, thin


def mixed_history(log_steps: int) -> list[dict[str, float]]:
    """The app's cadence: a loss entry every 10 steps and a grid-diversity entry every 5 steps."""
    history: list[dict[str, float]] = []
    for step in range(5, 10 * log_steps + 1, 5):
        history.append({"step": step, "diversity": 0.5})
        if step % 10 == 0:
            history.append({"step": step, "loss/D": 1.0, "loss/G": 2.0})
    return history


def test_thin_keeps_the_newest_entry_and_an_even_stride() -> None:
    history = [{"step": i} for i in range(1, 1001)]
    thinned = thin(history)
    assert len(thinned) <= MAX_POINTS and thinned[-1]["step"] == 1000
    assert len({b["step"] - a["step"] for a, b in zip(thinned, thinned[1:])}) == 1
    assert thin(history[:10]) == history[:10]


def test_loss_chart_of_a_long_mixed_history_has_no_gaps_and_reaches_the_last_step() -> None:
    snap = JobSnapshot(run_name="long-mixed", status="running", history=mixed_history(900))  # 2,700 entries
    fig = chart(snap, ["loss/D", "loss/G"], 0.0, "Losses")
    for trace in fig.data:
        steps = list(trace.x)
        assert steps[-1] == 9000, trace.name
        assert 300 <= len(steps) <= MAX_POINTS, trace.name
        assert max(b - a for a, b in zip(steps, steps[1:])) <= 30, trace.name  # an even stride of loss entries
