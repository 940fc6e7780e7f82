"""Runtime: the device, thread, precision, memory-format and compile decisions of a run, and its hardware line."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_config

from gan_core.metric_names import LOSS_D
from gan_core.presets import preset_config
from gan_core.train.runtime import Runtime


@pytest.fixture(autouse=True)
def _keep_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("runtime,expected", [
    (Runtime(torch.device("cpu"), 1, False, False, False), "CPU, 1 thread, fp32"),
    (Runtime(torch.device("cpu"), 2, True, True, False), "CPU, 2 threads, bf16 mixed precision"),
    (Runtime(torch.device("cuda"), 8, True, True, True), "CUDA, bf16 mixed precision, compiled"),
])
def test_hardware_line(runtime: Runtime, expected: str) -> None:
    assert runtime.hardware == expected


@pytest.mark.parametrize("arch,nhwc", [("mlp", False), ("dcgan", True), ("upsample-conv", True)])
def test_cpu_decisions(monkeypatch, arch: str, nhwc: bool) -> None:
    monkeypatch.setenv("GAN_WORKBENCH_THREADS", "1")
    monkeypatch.setattr("gan_core.train.runtime.fast_bf16", lambda device: True)
    rt = Runtime.for_run(tiny_config(arch, compile=True, channels_last=False))
    assert rt.device == torch.device("cpu") and rt.num_threads == 1 == torch.get_num_threads()
    assert rt.channels_last == nhwc  # the conv nets always run NHWC on the CPU
    assert rt.amp and not rt.compile  # compile is CUDA only
    off = Runtime.for_run(tiny_config(arch, amp=False))
    assert not off.amp  # the switch turns bf16 off even where it is faster


def test_stacked_mnist_trains_in_fp32_even_where_bf16_is_faster(monkeypatch) -> None:
    # docs/modes.md, Session 35: in bf16 the stacked recipe ended at KL 0.071 over 5 seeds against fp32's 0.060.
    monkeypatch.setenv("GAN_WORKBENCH_THREADS", "1")
    monkeypatch.setattr("gan_core.train.runtime.fast_bf16", lambda device: True)
    assert not Runtime.for_run(preset_config("stacked_mnist-default")).amp
    assert Runtime.for_run(preset_config("mnist-default")).amp  # no gap measured there: bf16 stays where faster


def test_bf16_only_where_it_is_faster(monkeypatch) -> None:
    monkeypatch.setattr("gan_core.train.runtime.fast_bf16", lambda device: False)
    assert not Runtime.for_run(tiny_config("dcgan")).amp


def test_autocast_batch_and_place_follow_the_decisions() -> None:
    layer = torch.nn.Conv2d(3, 4, 3)
    x = torch.randn(2, 3, 8, 8)
    fast = Runtime(torch.device("cpu"), 1, True, True, False)
    with fast.autocast():
        assert layer(x).dtype == torch.bfloat16
    assert fast.batch(x).is_contiguous(memory_format=torch.channels_last)
    assert fast.place(layer) is layer and layer.weight.is_contiguous(memory_format=torch.channels_last)
    plain = Runtime(torch.device("cpu"), 1, False, False, False)
    with plain.autocast():
        assert layer(x).dtype == torch.float32
    assert plain.batch(x) is x and plain.compiled(layer) is layer


def test_the_steps_timed_to_confirm_threads_leave_no_trace_in_the_run(monkeypatch) -> None:
    """The Trainer times its own steps to confirm more than one thread (device.faster_threads), then undoes them: the
    run starts at step 0 and trains exactly as one never timed (weights, BatchNorm statistics, EMA, random streams),
    on the count chosen, which its hardware line names."""
    from gan_core.train.trainer import Trainer

    cfg = tiny_config("dcgan", ema=0.9)
    plain = Trainer(cfg, callbacks=[])
    asked = []

    def timed_steps(step, threads: int) -> int:
        asked.append(threads)
        for _ in range(12):  # more than log_every (5): the timed steps must not fill the metrics buffer
            step()
        torch.set_num_threads(1)
        return 1

    monkeypatch.setattr("gan_core.train.runtime.cpu_threads", lambda config: (2, True))
    monkeypatch.setattr("gan_core.train.trainer.faster_threads", timed_steps)
    timed = Trainer(cfg, callbacks=[])
    assert asked == [2] and timed.step_count == 0 and timed.history == []
    assert timed.runtime.num_threads == 1 and not timed.runtime.confirm_threads and "1 thread," in timed.hardware
    for trainer in (plain, timed):
        trainer.run()
    for a, b in ((plain.G, timed.G), (plain.D, timed.D), (plain.ema.module, timed.ema.module)):
        for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(x, y), name
    losses = [[h[LOSS_D] for h in t.history if LOSS_D in h] for t in (plain, timed)]
    assert losses[0] and losses[0] == losses[1]
