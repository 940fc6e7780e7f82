"""StepMetrics: the device buffer averages an interval, names the first non-finite step, and times only training."""

from __future__ import annotations

import math
import time

import torch

from gan_core.train.step_metrics import StepMetrics, grad_norm


def _row(d: float, g: float = 1.0) -> dict[str, torch.Tensor]:
    values = {"loss/D": d, "loss/G": g, "D(x)": 0.6, "D(G(z))": 0.4}
    return {k: torch.tensor(v) for k, v in values.items()}


def test_an_interval_is_averaged_with_the_last_steps_gradient_norms() -> None:
    m = StepMetrics(3, torch.device("cpu"))
    m.start_clock(0)
    wants = []
    for d in (1.0, 2.0, 3.0):
        wants.append(m.wants_grads)
        m.record(_row(d))
    m.grad_norms[:] = torch.tensor([0.5, 0.25])
    assert m.full and wants == [False, False, True]
    entry, alert = m.flush(step=3, batch_size=16)
    assert alert is None and m.count == 0
    assert entry["loss/D"] == 2.0 and entry["loss/G"] == 1.0 and entry["D(x)"] == float(torch.tensor(0.6))
    assert (entry["grad/D"], entry["grad/G"]) == (0.5, 0.25) and entry["img/s"] > 0


def test_a_non_finite_value_names_its_step() -> None:
    m = StepMetrics(4, torch.device("cpu"))
    for d in (1.0, math.inf, math.nan):
        m.record(_row(d))
    entry, alert = m.flush(step=12, batch_size=16)  # rows are steps 10, 11, 12
    assert entry == {} and alert.kind == "nan" and alert.step == 11 and "non-finite at step 11" in alert.message


def test_paused_time_is_left_out_of_images_per_second() -> None:
    m = StepMetrics(1, torch.device("cpu"))
    m.start_clock(0)
    time.sleep(0.1)
    m.pause_clock(0.1)
    m.record(_row(1.0))
    entry, _ = m.flush(step=1, batch_size=100)
    assert entry["img/s"] > 100 / 0.05  # without pause_clock: below 100 / 0.1


def test_discard_and_grad_norm() -> None:
    m = StepMetrics(2, torch.device("cpu"))
    m.record(_row(1.0))
    m.discard()
    assert m.count == 0 and not m.full
    layer = torch.nn.Linear(2, 1, bias=False)
    assert float(grad_norm(layer)) == 0.0  # no gradients yet
    layer.weight.grad = torch.tensor([[3.0, 4.0]])
    assert float(grad_norm(layer)) == 5.0
