"""Tests for gan_core.metrics.health: synthetic metric streams that should and should not raise alerts."""

from __future__ import annotations

import math

from gan_core.metrics import Alert, HealthMonitor, check_finite

LOG_EVERY = 10  # steps between update() calls, as the trainer's log_every


def healthy(i: int) -> dict[str, float]:
    """A normal BCE run: both losses oscillate around their equilibrium values, D near 0.5-0.7."""
    return {
        "loss/D": 1.1 + 0.25 * math.sin(i / 3.0),
        "loss/G": 1.0 + 0.4 * math.sin(i / 5.0 + 1.0),
        "D(x)": 0.62 + 0.1 * math.sin(i / 4.0),
        "D(G(z))": 0.38 + 0.1 * math.sin(i / 4.0 + 2.0),
    }


def d_wins(i: int, start: int) -> dict[str, float]:
    """The discriminator takes over: its loss decays to ~0, D(x) -> 1, D(G(z)) -> 0, G's loss climbs."""
    t = i - start
    return {
        "loss/D": 0.02 * math.exp(-t / 20.0) + 0.004,
        "loss/G": 4.0 + 0.05 * t,
        "D(x)": 0.99,
        "D(G(z))": 0.01,
    }


def run(monitor: HealthMonitor, stream: list[dict[str, float]]) -> list[Alert]:
    alerts = []
    for i, m in enumerate(stream):
        alerts += monitor.update(i * LOG_EVERY, m)
    return alerts


def test_healthy_oscillating_stream_stays_quiet() -> None:
    monitor = HealthMonitor(real_diversity=1.0, num_classes=10)
    stream = [healthy(i) for i in range(400)]
    for i in range(0, 400, 20):  # occasional quality readings, all fine
        stream[i] = {**stream[i], "diversity": 0.9 + 0.05 * math.sin(i), "coverage/classes": 10.0, "quality": 0.5}
    assert run(monitor, stream) == []
    assert monitor.history == []


def test_discriminator_collapse_fires_once_with_advice() -> None:
    monitor = HealthMonitor(window=20)
    stream = [healthy(i) for i in range(60)] + [d_wins(i, 60) for i in range(60, 200)]
    alerts = run(monitor, stream)
    assert [a.kind for a in alerts] == ["d_wins"]
    alert = alerts[0]
    # Fires only once the collapse has lasted about a window (not on its first reading).
    assert (60 + 15) * LOG_EVERY <= alert.step <= (60 + 25) * LOG_EVERY, alert
    assert "lr_d" in alert.message and "label smoothing" in alert.message and "WGAN-GP" in alert.message
    assert alert.message.endswith(".") and alert.message.count(". ") == 0  # one sentence


def test_discriminator_alert_rearms_after_recovery() -> None:
    monitor = HealthMonitor(window=20)
    stream = ([d_wins(i, 0) for i in range(40)] + [healthy(i) for i in range(40, 100)]
              + [d_wins(i, 100) for i in range(100, 140)])
    assert [a.kind for a in run(monitor, stream)] == ["d_wins", "d_wins"]


def test_short_or_non_probability_dominance_does_not_fire() -> None:
    # A burst shorter than the window: D wins for 12 readings, then the game recovers.
    monitor = HealthMonitor(window=20)
    stream = (
        [healthy(i) for i in range(30)] + [d_wins(i, 30) for i in range(30, 42)] + [healthy(i) for i in range(42, 120)]
    )
    assert run(monitor, stream) == []
    # WGAN-GP: negative critic loss and raw critic scores outside [0, 1] are not "D wins".
    monitor = HealthMonitor(window=20)
    wgan = [{"loss/D": -5.0 - 0.01 * i, "loss/G": 3.0 + 0.02 * i, "D(x)": 4.0, "D(G(z))": -3.0} for i in range(100)]
    assert run(monitor, wgan) == []
    # A strong D while G keeps learning (its loss falls and stays moderate) is not a collapse either.
    monitor = HealthMonitor(window=20)
    strong = [{"loss/D": 0.03, "loss/G": 2.5 - 0.01 * i, "D(x)": 0.9, "D(G(z))": 0.1} for i in range(100)]
    assert run(monitor, strong) == []


def test_non_finite_loss_fires_once_until_it_clears() -> None:
    monitor = HealthMonitor()
    stream = [healthy(i) for i in range(10)]
    stream += [{**healthy(i), "loss/D": float("nan")} for i in range(10, 15)]
    stream += [healthy(i) for i in range(15, 20)]
    stream += [{**healthy(i), "loss/G": float("inf")} for i in range(20, 22)]
    alerts = run(monitor, stream)
    assert [(a.kind, a.step) for a in alerts] == [("nan", 100), ("nan", 200)]
    assert "step 100" in alerts[0].message and "learning rate" in alerts[0].message


def test_check_finite() -> None:
    assert check_finite(healthy(0), 5) is None
    alert = check_finite({"loss/D": 0.7, "loss/G": float("nan"), "grad/D": float("inf")}, 42)
    assert alert is not None and alert.kind == "nan" and alert.step == 42
    assert alert.message.startswith("Loss became non-finite at step 42 (loss/G=nan")
    other = check_finite({"loss/D": 0.7, "grad/D": float("inf")}, 3)
    assert other is not None and "grad/D" in other.message


def test_mode_collapse_from_low_diversity_fires_once_after_patience() -> None:
    monitor = HealthMonitor(real_diversity=1.1, num_classes=10, patience=2, warmup_steps=200)
    stream = [healthy(i) for i in range(200)]
    for i in range(20, 200, 20):  # diversity measured every 200 steps; it collapses from step 1000 on
        stream[i] = {**stream[i], "diversity": 1.0 if i < 100 else 0.05}
    alerts = run(monitor, stream)
    assert [a.kind for a in alerts] == ["mode_collapse"]
    assert alerts[0].step == 120 * LOG_EVERY  # the second low reading (patience 2)
    assert "5% of the real data's" in alerts[0].message and "EMA" in alerts[0].message


def test_mode_collapse_from_coverage_and_warmup() -> None:
    # 2 of 10 classes covered is a collapse; 8 of 10 is not.
    monitor = HealthMonitor(num_classes=10, patience=1, warmup_steps=0)
    assert monitor.update(500, {**healthy(0), "coverage/classes": 8.0}) == []
    alerts = monitor.update(1000, {**healthy(1), "coverage/classes": 2.0})
    assert [a.kind for a in alerts] == ["mode_collapse"] and "only 2 of 10 classes" in alerts[0].message
    assert monitor.update(1500, {**healthy(2), "coverage/classes": 1.0}) == []  # no repeat while it lasts
    assert monitor.update(2000, {**healthy(3), "coverage/classes": 10.0}) == []
    assert [a.kind for a in monitor.update(2500, {**healthy(4), "coverage/classes": 1.0})] == ["mode_collapse"]
    # An untrained generator's samples all look alike: readings before warmup_steps are ignored.
    early = HealthMonitor(real_diversity=1.0, patience=1, warmup_steps=200)
    assert early.update(0, {**healthy(0), "diversity": 0.01}) == []
    assert [a.kind for a in early.update(200, {**healthy(1), "diversity": 0.01})] == ["mode_collapse"]


def test_mode_collapse_rearms_only_after_a_clear_recovery() -> None:
    # A collapsed run whose diversity hovers around the threshold (0.2-0.3 of the real data's) alerts once,
    # not at every dip; only `patience` readings clearly back (>= 0.4) re-arm it.
    monitor = HealthMonitor(real_diversity=1.0, patience=2, warmup_steps=0)
    hovering = [0.2, 0.2, 0.3, 0.2, 0.3, 0.3, 0.2, 0.2, 0.35, 0.35, 0.2, 0.2]
    alerts = [a for i, d in enumerate(hovering) for a in monitor.update(100 * i, {**healthy(i), "diversity": d})]
    assert [a.step for a in alerts] == [100]
    # One clearly healthy reading is not enough (patience 2); two in a row re-arm the alert.
    steps = iter(range(2000, 4000, 100))
    for d in (0.9, 0.2, 0.2, 0.9, 0.9, 0.2, 0.2):
        alerts += monitor.update(next(steps), {**healthy(0), "diversity": d})
    assert [a.step for a in alerts] == [100, 2600]
