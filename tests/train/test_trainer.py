"""Trainer: every architecture and loss trains, determinism under a seed, exact resume, schedule and hooks."""

from __future__ import annotations

import math
import types

import pytest
import torch
from conftest import tiny_config

from gan_core.errors import TrainingError
from gan_core.metric_names import STEP_METRICS
from gan_core.runs.checkpoints import load_checkpoint, save_checkpoint
from gan_core.sampling import generate
from gan_core.train.trainer import Trainer


@pytest.mark.parametrize("arch", ["mlp-small", "mlp", "mlp-deep", "upsample-conv", "dcgan"])
@pytest.mark.parametrize("loss", ["bce", "wgan-gp", "hinge", "lsgan"])
def test_every_arch_and_loss_trains_with_finite_metrics(arch: str, loss: str) -> None:
    tr = Trainer(tiny_config(arch, loss, steps=6, log_every=3))
    before = [p.detach().clone() for p in tr.G.parameters()]
    assert tr.run() == "done"
    logs = [h for h in tr.history if "loss/D" in h]
    assert tr.step_count == 6 and [h["step"] for h in logs] == [3, 6]
    for key in (*STEP_METRICS, "grad/D", "grad/G", "img/s"):
        assert math.isfinite(logs[-1][key]), key
    assert any(not torch.equal(a, b) for a, b in zip(before, tr.G.parameters())), "G did not change"
    assert tr.latest_grid.dtype == torch.uint8 and tr.latest_grid.shape == (16, 3, 16, 16)


def _weights(tr: Trainer) -> list[torch.Tensor]:
    mods = [tr.G, tr.D] + ([tr.ema.module] if tr.ema is not None else [])
    return [t.detach().clone() for m in mods for t in list(m.parameters()) + list(m.buffers())]


def test_same_seed_gives_identical_weights_and_another_seed_differs() -> None:
    runs = []
    for seed in (3, 3, 4):
        tr = Trainer(tiny_config("dcgan", steps=8, seed=seed))
        tr.run()
        runs.append(_weights(tr))
    assert all(torch.equal(a, b) for a, b in zip(runs[0], runs[1]))
    assert not all(torch.equal(a, b) for a, b in zip(runs[0], runs[2]))


@pytest.mark.parametrize("arch,loss,extra", [
    # BatchNorm + EMA + smoothing + feature matching (the real features it matches are the step's own, not saved)
    ("dcgan", "bce", {"ema": 0.9, "real_label": 0.9, "fake_label": 0.1, "feature_matching": 1.0}),
    ("mlp-deep", "bce", {}),  # dropout consumes the global RNG
    ("dcgan", "wgan-gp", {"n_critic": 2}),  # gradient penalty draws interpolation weights
    # Scores and grids at the first run's last step too (7), which the uninterrupted run does not have there.
    ("mlp-deep", "bce", {"quality_every": 3, "sample_every": 2}),
    # AC-GAN class head, augmentation drawing from the run's stream, the EMA's warm-up ramp.
    ("dcgan", "bce", {"conditional": True, "class_weight": 1.0, "augment": "translation,cutout,color", "ema": 0.99}),
    ("dcgan", "hinge", {"r1": 1.0, "r1_every": 3}),  # lazy R1: due by the step count, across the interruption
])
def test_exact_resume_matches_uninterrupted_training(tmp_path, arch: str, loss: str, extra: dict) -> None:
    n, m = 7, 6
    full = Trainer(tiny_config(arch, loss, steps=n + m, **extra))
    full.run()

    first = Trainer(tiny_config(arch, loss, steps=n, **extra))
    first.run()
    path = save_checkpoint(first.state_dict(), tmp_path / "ckpt.pt")
    del first
    torch.manual_seed(12345)  # resume must not depend on whatever ran in between
    resumed = Trainer(tiny_config(arch, loss, steps=n + m, **extra))
    resumed.load_state_dict(load_checkpoint(path))
    assert resumed.step_count == n
    resumed.run()
    assert resumed.step_count == n + m
    for a, b in zip(_weights(full), _weights(resumed)):
        assert torch.equal(a, b)
    losses = lambda t: [h["loss/D"] for h in t.history if "loss/D" in h][:1]  # noqa: E731
    assert losses(resumed) == losses(full)  # the history travels with the checkpoint
    if extra.get("quality_every"):  # the last step's scores agree, precision, recall and copies included
        last = [next(h for h in reversed(t.history) if "quality" in h) for t in (full, resumed)]
        assert last[0]["step"] == n + m and {"precision", "recall", "copies", "copy_threshold"} <= set(last[0])
        assert last[0] == last[1]


def test_n_critic_updates_the_discriminator_n_times_per_generator_step() -> None:
    tr = Trainer(tiny_config("mlp", "wgan-gp", steps=4, n_critic=3))
    tr.run()
    d_steps = next(iter(tr.opt_d.state.values()))["step"]
    g_steps = next(iter(tr.opt_g.state.values()))["step"]
    assert int(g_steps) == 4 and int(d_steps) == 12


def test_epochs_set_the_number_of_steps() -> None:
    tr = Trainer(tiny_config(steps=None, epochs=1.0))  # 128 images / batch 16
    assert tr.total_steps == 8
    tr.run()
    assert tr.step_count == 8 and tr.epoch == pytest.approx(1.0)


def test_should_stop_and_on_step_hooks() -> None:
    tr = Trainer(tiny_config(steps=100))
    seen: list[tuple[int, set]] = []
    reason = tr.run(should_stop=lambda: tr.step_count >= 12, on_step=lambda t, ev: seen.append((t.step_count, ev)))
    assert reason == "stopped" and tr.step_count == 12
    assert [s for s, _ in seen] == list(range(1, 13))
    assert "log" in dict(seen)[5] and "grid" in dict(seen)[10]


def test_max_seconds_stops_training() -> None:
    tr = Trainer(tiny_config(steps=10**6, max_seconds=0.5))
    assert tr.run() == "time"
    assert 0 < tr.step_count < 10**6 and tr.train_seconds >= 0.5


def test_conditional_model_trains_on_labeled_shapes() -> None:
    cfg = tiny_config("dcgan", steps=4)
    cfg.model.conditional = True
    tr = Trainer(cfg)
    tr.run()
    assert tr.G.num_classes == 3 and tr.fixed_y is not None
    assert generate(tr.sampler, tr.fixed_z, tr.fixed_y).shape == (16, 3, 16, 16)


def test_exploding_learning_rate_stops_with_the_step_number() -> None:
    tr = Trainer(tiny_config("mlp", "lsgan", steps=200, lr_g=0.99, lr_d=0.99, log_every=2))
    with torch.no_grad():  # huge weights make the least-squares loss overflow within a few steps
        for p in tr.D.parameters():
            p.mul_(1e18)
    with pytest.raises(TrainingError, match=r"non-finite at step \d+"):
        tr.run()
    assert tr.step_count <= 4
    assert tr.alerts and tr.alerts[-1]["kind"] == "nan"


@pytest.mark.parametrize("native", [True, False])
def test_mixed_precision_runs_where_bf16_is_faster_and_is_ignored_elsewhere(monkeypatch, native: bool) -> None:
    # Whether bf16 measures faster on this CPU decides the default; both branches run on any CPU by stubbing it.
    monkeypatch.setattr("gan_core.train.runtime.fast_bf16", lambda device: native)
    tr = Trainer(tiny_config("dcgan", steps=4))
    assert tr.config.train.amp and tr.runtime.amp == native
    assert tr.hardware.startswith("CPU, ") and tr.hardware.endswith("bf16 mixed precision" if native else "fp32")
    seen: list[torch.dtype] = []
    conv = next(m for m in tr.D.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    tr.run()
    assert set(seen) == {torch.bfloat16 if native else torch.float32}
    assert all(p.dtype == torch.float32 for p in tr.G.parameters())  # weights and Adam stay fp32
    last = next(h for h in reversed(tr.history) if "loss/D" in h)  # not a diversity-only entry
    assert all(math.isfinite(last[k]) for k in STEP_METRICS)
    off = Trainer(tiny_config("dcgan", steps=1, amp=False))  # the switch turns it off everywhere
    assert not off.runtime.amp


def test_images_per_second_leaves_out_time_spent_in_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    # A hook that takes 50 ms per step (a save, a pause, a score) must not count as training time or throughput.
    # The trainer's clock is a fake one that a step advances by 1 ms per reading and the hook by 50 ms: no real
    # timing, so a loaded machine cannot fail it.
    from gan_core.train import step_metrics, trainer

    clock = types.SimpleNamespace(now=0.0)

    def perf_counter() -> float:
        clock.now += 0.001
        return clock.now

    for module in (trainer, step_metrics):
        monkeypatch.setattr(module, "time", types.SimpleNamespace(perf_counter=perf_counter))
    tr = Trainer(tiny_config("mlp", steps=10, log_every=10))
    tr.run(on_step=lambda t, events: setattr(clock, "now", clock.now + 0.05))
    entry = next(h for h in tr.history if "loss/D" in h)
    assert tr.train_seconds < 10 * 0.01  # a few fake milliseconds per step, none of the hook's 0.5 s
    assert entry["img/s"] > 2 * 16 / 0.05  # with the hook's time it would be below 16 / 0.05
