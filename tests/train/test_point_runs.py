"""Training on 2-D point sets: every loss, the live mode scores and collapse alert, the playground frames, the
learning-rate schedule, and the CLI's train, sample (N x 2 float32) and eval."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from gan_core.cli import main
from gan_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from gan_core.errors import CheckpointError, ConfigError
from gan_core.runs.checkpoints import find_checkpoints, load_checkpoint, save_checkpoint
from gan_core.train.optim import lr_factor
from gan_core.train.playground import FRAME_POINTS, HEAT_SIDE, MESH_SIDE, loss_surfaces
from gan_core.train.point_callbacks import FRAME, ModeScore
from gan_core.train.trainer import Trainer


def point_config(name: str = "ring", loss: str = "bce", steps: int = 20, pack: int = 1, mbstd: int = 0,
                 **train: object) -> RunConfig:
    t = TrainConfig(loss=loss, steps=steps, batch_size=32, log_every=5, sample_every=10, checkpoint_every=10,
                    quality_every=10, num_fixed=16, device="cpu", amp=False)
    for k, v in train.items():
        setattr(t, k, v)
    return RunConfig(DataConfig(name=name, num_samples=2000), ModelConfig(arch="mlp-2d", latent_dim=2, width=16,
                                                                         pack=pack, mbstd=mbstd), t).validate()


@pytest.mark.parametrize("loss", ["bce", "wgan-gp", "hinge", "lsgan"])
def test_every_loss_trains_on_points_and_scores_the_modes_live(loss: str) -> None:
    tr = Trainer(point_config("grid", loss, pack=2, mbstd=2))
    assert tr.run() == "done"
    scores = [h for h in tr.history if "modes/covered" in h]
    assert [h["step"] for h in scores] == [10, 20]
    assert all(0 <= h["modes/covered"] <= 25 and 0 <= h["modes/hq"] <= 100 for h in scores)
    assert tr.latest_grid.shape[:2] == (1, 3) and tr.latest_grid.dtype == torch.uint8  # the scatter 'grid'


def test_a_collapsed_generator_raises_the_alert_once_in_plain_words() -> None:
    tr = Trainer(point_config("ring", steps=1))
    with torch.no_grad():  # G draws the ring's first mode for every noise: 1 of 8 modes
        last = [m for m in tr.G.modules() if isinstance(m, torch.nn.Linear)][-1]
        last.weight.zero_()
        last.bias.copy_(torch.tensor([1.0, 0.0]))
    score = next(c for c in tr.callbacks if isinstance(c, ModeScore))
    entry = score.measure(tr)
    assert entry["modes/covered"] == 1 and entry["modes/hq"] == 100.0
    score.measure(tr)
    assert [a["message"][:39] for a in tr.alerts] == ["The generator covers 1 of 8 modes: it h"]


def test_playground_frames_describe_g_and_d_over_the_plane() -> None:
    tr = Trainer(point_config("moons", steps=3, pack=2))
    events: list[set[str]] = []
    tr.run(on_step=lambda t, ev: events.append(set(ev)))
    assert FRAME in events[0]  # the first step draws at once; later ones every half second
    f = tr.latest_frame
    assert f.fake.shape == (FRAME_POINTS, 2) and f.arrows.shape == (FRAME_POINTS, 2)
    assert f.heat.shape == (HEAT_SIDE, HEAT_SIDE) and ((f.heat >= 0) & (f.heat <= 1)).all()
    assert f.mesh.shape == (MESH_SIDE, MESH_SIDE, 2) and np.isfinite(f.arrows).all()
    assert f.extent[0] < f.real[:, 0].min() and f.extent[1] > f.real[:, 0].max()


def test_loss_surfaces_differ_by_loss_and_bce_is_a_probability() -> None:
    real = torch.randn(200, 2) * 0.1 + torch.tensor([1.0, 0.0])
    fake = torch.randn(200, 2) * 0.1
    s = loss_surfaces(real, fake, ("bce", "wgan-gp", "hinge"), steps=30, width=16)
    assert set(s) == {"bce", "wgan-gp", "hinge"} and all(v.shape == (HEAT_SIDE, HEAT_SIDE) for v in s.values())
    assert ((s["bce"] >= 0) & (s["bce"] <= 1)).all()
    assert not np.allclose(s["wgan-gp"], s["hinge"])


def test_learning_rate_schedules_decay_to_zero_and_resume_exactly(tmp_path) -> None:
    assert lr_factor("constant", 0.7) == 1.0 and lr_factor("linear", 0.25) == 0.75
    assert lr_factor("cosine", 0.5) == pytest.approx(0.5) and lr_factor("cosine", 1.0) == pytest.approx(0.0)
    full = Trainer(point_config(steps=12, lr_schedule="cosine", quality_every=0))
    full.run()
    assert full.opt_g.param_groups[0]["lr"] == pytest.approx(2e-4 * lr_factor("cosine", 11 / 12))  # the last step's
    first = Trainer(point_config(steps=12, lr_schedule="cosine", quality_every=0))
    first.run(should_stop=lambda: first.step_count >= 6)  # interrupted half way: the schedule spans all 12 steps
    path = save_checkpoint(first.state_dict(), tmp_path / "c.pt")
    resumed = Trainer(point_config(steps=12, lr_schedule="cosine", quality_every=0))
    resumed.load_state_dict(load_checkpoint(path))
    resumed.run()
    for a, b in zip(full.G.state_dict().values(), resumed.G.state_dict().values()):
        assert torch.equal(a, b)


def test_the_point_generator_has_the_configured_depth_and_a_resume_must_keep_it(tmp_path) -> None:
    def linears(depth: int) -> tuple[Trainer, int]:
        cfg = point_config(steps=2)
        cfg.model.depth = depth
        tr = Trainer(cfg.validate())
        return tr, sum(isinstance(m, torch.nn.Linear) for m in tr.G.modules())
    (three, n3), (five, n5) = linears(3), linears(5)
    assert (n3, n5) == (4, 6)  # hidden layers + the output layer
    three.run()
    with pytest.raises(CheckpointError, match="depth 3 vs 5"):
        five.load_state_dict(load_checkpoint(save_checkpoint(three.state_dict(), tmp_path / "c.pt")))


def test_points_and_images_each_need_their_own_architecture() -> None:
    with pytest.raises(ConfigError, match="mlp-2d"):
        RunConfig(DataConfig(name="ring"), ModelConfig(arch="mlp")).validate()
    with pytest.raises(ConfigError, match="point set"):
        RunConfig(DataConfig(name="shapes"), ModelConfig(arch="mlp-2d")).validate()
    with pytest.raises(ConfigError, match="no image size"):
        RunConfig(DataConfig(name="ring", image_size=32), ModelConfig(arch="mlp-2d")).validate()


def test_cli_trains_on_the_ring_samples_points_and_evaluates(tmp_path, capsys) -> None:
    run = tmp_path / "ring"
    assert main(["train", "--dataset", "ring", "--steps", "20", "--width", "16", "--batch-size", "32",
                 "--device", "cpu", "--out", str(run)]) == 0
    state = load_checkpoint(find_checkpoints(run)[0])
    assert state["config"]["model"]["arch"] == "mlp-2d" and state["config"]["model"]["pack"] == 2  # the recipe
    npy, png = tmp_path / "points.npy", tmp_path / "points.png"
    assert main(["sample", "--checkpoint", str(run), "--num", "2500", "--out", str(npy)]) == 0
    arr = np.load(npy)
    assert arr.shape == (2500, 2) and arr.dtype == np.float32
    assert main(["sample", "--checkpoint", str(run), "--num", "100", "--out", str(png)]) == 0
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(run)]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["num"] == 2500 and scores["step"] == 20
    assert set(scores) == {"step", "num", "modes/covered", "modes/hq", "modes/rkl"}
    assert isinstance(scores["modes/covered"], int)


def test_step_mode_trains_one_step_per_click_and_publishes_its_frame(tmp_path) -> None:
    from conftest import wait_until

    from gan_core.job import TrainingJob

    job = TrainingJob(point_config("ring", steps=100000, quality_every=0), tmp_path / "run").start()
    try:
        wait_until(lambda: job.snapshot().status == "running", what="training")
        job.pause()
        wait_until(lambda: job.snapshot().frame is not None and job.parked, what="a frame, and the thread parked")
        before = job.snapshot().step
        time.sleep(0.6)  # the frame interval: the next step draws one
        assert job.snapshot().step == before  # parked: no step without a click
        assert job.step_once(wait=30)  # returns once the step is done and the thread waits again
        snap = job.snapshot()
        assert job.parked
        assert snap.step == before + 1 and snap.status == "paused"  # exactly one, then paused again
        assert snap.frame.step == before + 1
        job.set_step_delay(0.2)  # slow motion: about 5 steps a second
        assert job.snapshot().step_delay == 0.2
        job.resume()
        started = job.snapshot().step
        time.sleep(1.0)
        assert job.snapshot().step - started <= 6  # at most one step per 0.2 s wait, however fast the machine
    finally:
        job.stop()
        job.join(30)
