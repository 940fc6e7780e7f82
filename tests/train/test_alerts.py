"""Health alerts on real training runs (no fabricated metric streams: tests/metrics/test_health.py has those).

A run that really goes wrong (a deliberately broken learning rate, or a discriminator learning 100x faster than its
generator) must raise the engine's alert with advice, in `trainer.alerts` and on the CLI; a healthy short run of the
default recipe must stay quiet. Every run uses the app's HealthMonitor (same thresholds, window, patience and
warm-up) and the app's log/grid cadence (log_every 10, a grid every 200 steps); only the data are shrunk (512
synthetic shapes at 16x16) so each run takes seconds. The MNIST tests use the real files when present.
"""

from __future__ import annotations

import pytest
from conftest import MNIST_DIR

from gan_core.cli.commands import main
from gan_core.presets import PRESETS, preset_config
from gan_core.train.callbacks import HealthCheck, find
from gan_core.train.trainer import Trainer

HAVE_MNIST = (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file() and (MNIST_DIR / "t10k-labels-idx1-ubyte.gz").is_file()
PROBLEMS = {"d_wins", "mode_collapse"}


def small_default(steps: int, **train: object):
    """The embedded default recipe (shapes-default's loss, learning rates, betas, batch size and EMA) on 512 shapes
    at 16x16 with a narrower, unconditional DCGAN without the class head or augmentation (the runs below are tuned to
    fail in a known way; the default's stabilisers would move where); the app's metric and grid cadence."""
    cfg = preset_config("shapes-default", num_samples=512, image_size=16)
    cfg.model.width, cfg.model.conditional = 16, False
    t = cfg.train
    t.class_weight, t.augment = 0.0, ""
    # fp32 everywhere: these runs are tuned to go wrong (or not) in a known way, and bf16 (faster on some CPUs,
    # not used on others) would change their trajectory with the machine.
    t.steps, t.device, t.quality_every, t.amp = steps, "cpu", 0, False
    assert (t.log_every, t.sample_every) == (10, 200)  # the app's cadence: these runs see what the app would see
    for k, v in train.items():
        setattr(t, k, v)
    return cfg.validate()


def real_diversity(trainer: Trainer) -> float:
    return find(trainer.callbacks, HealthCheck).monitor.real_diversity


def problems(trainer: Trainer) -> list[dict]:
    return [a for a in trainer.alerts if a["kind"] in PROBLEMS]


def test_broken_learning_rate_collapses_and_raises_alerts() -> None:
    # lr 1e-2 with beta1 0.9 (50x the default's rate, no Adam damping): the samples diversify for a few hundred
    # steps, then G collapses onto one image and D wins outright.
    tr = Trainer(small_default(600, lr_g=1e-2, lr_d=1e-2, beta1=0.9))
    tr.run()
    kinds = {a["kind"] for a in tr.alerts}
    assert kinds & PROBLEMS, f"no alert on a collapsing run: {tr.alerts}, last metrics {tr.history[-1]}"
    grids = [h["diversity"] for h in tr.history if "diversity" in h and h["step"] >= 200]
    assert min(grids) < 0.25 * real_diversity(tr)  # it really did collapse (the alert is not a false alarm)
    for alert in problems(tr):
        msg = alert["message"]
        assert msg.endswith(".") and alert["step"] >= 200
        if alert["kind"] == "mode_collapse":
            assert "Mode collapse" in msg and "learning rate" in msg and "WGAN-GP" in msg
        else:
            assert "discriminator has won" in msg and "lr_d" in msg


def test_discriminator_far_faster_than_generator_raises_d_wins() -> None:
    # D's learning rate 100x G's: D separates real from fake perfectly and G's loss climbs.
    tr = Trainer(small_default(300, lr_g=2e-5, lr_d=2e-3))
    tr.run()
    d_wins = [a for a in tr.alerts if a["kind"] == "d_wins"]
    assert d_wins, f"no d_wins alert: {tr.alerts}, last metrics {tr.history[-1]}"
    alert = d_wins[0]
    before = [h for h in tr.history if "D(x)" in h and h["step"] <= alert["step"]]
    dominated = [h for h in before[-10:] if h["D(x)"] > 0.95 and h["D(G(z))"] < 0.05]
    assert len(dominated) == 10, before[-10:]  # D really had won when the alert came
    assert "lr_d" in alert["message"] and "label smoothing" in alert["message"]
    assert alert["step"] <= 300  # within about one window (20 log steps) of the start
    assert len(d_wins) == 1  # told once, not every log step


def test_healthy_default_run_stays_quiet() -> None:
    tr = Trainer(small_default(600))
    tr.run()
    assert problems(tr) == [], tr.alerts
    last = [h for h in tr.history if "D(x)" in h][-1]
    assert 0.3 < last["D(x)"] < 0.95 and last["D(G(z))"] > 0.05  # a real contest, not a D that gave up or won
    assert tr.history[-1 if "diversity" in tr.history[-1] else -2].get("diversity", 1.0) > 0.25 * real_diversity(tr)


def test_cli_prints_the_alert(tmp_path, capsys) -> None:
    code = main(["train", "--dataset", "shapes", "--arch", "mlp", "--image-size", "16", "--lr-g", "2e-5",
                 "--lr-d", "2e-3", "--steps", "300", "--device", "cpu", "--quality-every", "0",
                 "--out", str(tmp_path / "run")])
    assert code == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("alert: ")]
    assert any("discriminator has won" in line and "lr_d" in line for line in lines), err[-2000:]


@pytest.mark.skipif(not HAVE_MNIST, reason=f"real MNIST test files not in {MNIST_DIR}")
def test_small_mnist_tutorial_recipe_collapses_on_real_mnist(tmp_path, capsys) -> None:
    # The classic small MLP recipe (beta1 0.9, no EMA) collapses onto a few blobs within seconds of CPU time.
    assert PRESETS["mnist-mlp-small"].model["arch"] == "mlp-small"
    code = main(["train", "--preset", "mnist-mlp-small", "--data-dir", str(MNIST_DIR), "--steps", "3000",
                 "--device", "cpu", "--quality-every", "0", "--out", str(tmp_path / "run")])
    assert code == 0
    err = capsys.readouterr().err
    assert any(line.startswith("alert: Mode collapse") for line in err.splitlines()), err[-2000:]


@pytest.mark.skipif(not HAVE_MNIST, reason=f"real MNIST test files not in {MNIST_DIR}")
def test_default_mnist_recipe_stays_quiet_on_real_mnist() -> None:
    cfg = preset_config("mnist-default", data_dir=str(MNIST_DIR))
    cfg.train.steps, cfg.train.device, cfg.train.quality_every = 800, "cpu", 0
    tr = Trainer(cfg)
    tr.run()
    assert problems(tr) == [], tr.alerts
