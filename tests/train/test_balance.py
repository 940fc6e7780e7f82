"""Cluster balance: the encoder's views, k-means, the loss's pull toward the real shares, the cache, exact resume."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_config

from gan_core.data import ImageData
from gan_core.data.stacked import stack_digits
from gan_core.errors import ConfigError
from gan_core.expectation import probe_speed
from gan_core.models.clustered import CLUSTERS
from gan_core.presets import preset_config
from gan_core.runs.checkpoints import load_checkpoint, save_checkpoint
from gan_core.runs.generator import generator_from_state
from gan_core.train import balance as cb
from gan_core.train.trainer import Trainer


@pytest.fixture(autouse=True)
def _short_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """A few SimCLR steps are enough to test the plumbing (the real recipe trains 400)."""
    monkeypatch.setattr(cb, "ENCODER_STEPS", 3)
    monkeypatch.setattr(cb, "ENCODER_BATCH", 16)


def test_random_views_keep_shape_and_range_differ_from_the_image_and_follow_the_seed() -> None:
    x = torch.rand(8, 1, 28, 28) * 2 - 1
    a = cb.random_views(x, torch.Generator().manual_seed(0))
    b = cb.random_views(x, torch.Generator().manual_seed(0))
    c = cb.random_views(x, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, c) and not torch.allclose(a, x)


def test_kmeans_finds_planted_directions() -> None:
    gen = torch.Generator().manual_seed(0)
    planted = F.normalize(torch.randn(3, 16, generator=gen), dim=1)  # 3 x 16
    points = F.normalize(planted.repeat_interleave(50, 0) + 0.05 * torch.randn(150, 16, generator=gen), dim=1)
    found = cb.kmeans(points, 3)
    assert (found @ planted.t()).max(0).values.min() > 0.99  # every planted direction has a centroid on it


def test_soft_assignments_are_sharp_enough_to_tell_neighbouring_clusters() -> None:
    # A feature whose cosines to two centroids differ by 0.05: the nearer one holds over 90 % of its weight (at
    # session 29's sharpness, 0.1, 62 %: a near-flat histogram, which G matched while its digits stayed tilted).
    centroids = torch.eye(3)[:2]  # 2 x 3 unit vectors
    feature = torch.tensor([[0.70, 0.65, (1 - 0.70**2 - 0.65**2) ** 0.5]])  # 1 x 3, unit: cosines 0.70 and 0.65
    assert cb.soft_assign(feature, centroids)[0, 0] > 0.9


def _balance(groups: int = 1) -> tuple[cb.ClusterBalance, torch.Tensor]:
    """A random encoder whose two clusters are two images' features; the real shares are even."""
    torch.manual_seed(0)
    encoder = cb.Encoder(1).eval().requires_grad_(False)
    images = torch.rand(2, 1, 28, 28) * 2 - 1
    centroids = encoder(images)  # 2 x DIM
    return cb.ClusterBalance(encoder, centroids, torch.tensor([0.5, 0.5]), groups), images


def test_the_loss_moves_samples_from_an_overdrawn_cluster_to_an_underdrawn_one() -> None:
    balance, images = _balance()
    balance.running = torch.tensor([[0.9, 0.1]])  # G has been drawing cluster 0 far too often
    fake = (0.5 * images[:1] + 0.5 * images[1:]).repeat(4, 1, 1, 1).requires_grad_()  # between the two
    share = lambda x: cb.soft_assign(balance.encoder(x), balance.centroids).mean(0)[1]  # noqa: E731
    before = share(fake.detach())
    balance.loss(fake).backward()
    after = share(fake.detach() - 0.5 * fake.grad / fake.grad.norm())
    assert after > before + 0.01
    # Even shares in G's memory: next to nothing to pull on (only this batch's 1 % of the memory is uneven).
    pull = fake.grad.abs().max()
    balance.running = torch.tensor([[0.5, 0.5]])
    fake.grad = None
    balance.loss(fake).backward()
    assert fake.grad.abs().max() < 0.05 * pull


def test_the_histogram_is_computed_in_fp32_under_bf16_autocast() -> None:
    # At sharpness 0.015 a bf16 cosine's rounding (~0.004 near 1) moves a logit by ~0.26: the trainer's G phase runs
    # under autocast, and the balance must not inherit its precision.
    balance, images = _balance()
    fake = torch.rand(16, 1, 28, 28) * 2 - 1
    balance.loss(fake)
    fp32 = balance.running.clone()
    balance.running = None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        balance.loss(fake)
    assert balance.running.dtype == torch.float32
    assert torch.allclose(balance.running, fp32, atol=1e-5)


def test_stacked_samples_are_balanced_channel_by_channel_with_a_running_histogram_each() -> None:
    balance, images = _balance(groups=3)
    fake = images[[0, 0, 1]].reshape(1, 3, 28, 28).repeat(2, 1, 1, 1)  # 2 x 3 x 28 x 28: R and G cluster 0, B 1
    balance.loss(fake)
    assert balance.running.shape == (3, 2)
    assert balance.running[0, 0] > 0.5 and balance.running[2, 1] > 0.5
    first = balance.running.clone()
    balance.loss(fake.flip(1))  # B and G now cluster 0, R cluster 1: the memory moves by 1 - MEMORY only
    assert torch.allclose(balance.running, cb.MEMORY * first + (1 - cb.MEMORY) * first.flip(0))


def test_for_data_trains_once_then_loads_the_cache_and_stacked_sets_train_on_their_digits(tmp_path, monkeypatch
                                                                                        ) -> None:
    digits = torch.randint(0, 256, (40, 1, 28, 28), dtype=torch.uint8)
    stacked = stack_digits(digits, torch.arange(40) % 10, 60, seed=0)
    calls = []
    train = cb.train_encoder
    monkeypatch.setattr(cb, "train_encoder", lambda units, *a, **k: calls.append(units.shape) or train(units, *a, **k))
    first = cb.ClusterBalance.for_data(stacked, cache_dir=tmp_path)
    again = cb.ClusterBalance.for_data(stacked, cache_dir=tmp_path)
    assert calls == [(40, 1, 28, 28)]  # the distinct digits, one channel, once
    assert first.groups == 3 and torch.equal(first.centroids, again.centroids)
    assert first.real.shape == (min(cb.CLUSTERS, 40),) and first.real.sum() == pytest.approx(1.0)
    plain = ImageData(torch.randint(0, 256, (20, 3, 32, 32), dtype=torch.uint8))
    assert cb.ClusterBalance.for_data(plain, cache_dir=tmp_path).groups == 1 and calls[-1] == (20, 3, 32, 32)


@pytest.mark.parametrize("stacked,groups", [(False, 0), (True, 0), (True, 3)])
def test_exact_resume_keeps_the_running_histogram(tmp_path, stacked: bool, groups: int) -> None:
    n, m, extra = 5, 4, {"cluster_balance": 1.0, "ema": 0.9}
    digits = torch.randint(0, 256, (30, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    data = stack_digits(digits, torch.arange(30) % 10, 64, seed=0) if stacked else None  # else tiny's shapes

    def trainer(steps: int) -> Trainer:
        cfg = tiny_config("dcgan", steps=steps, **extra)
        if stacked:
            cfg.data.name = "stacked_mnist"
        cfg.model.cluster_groups = groups  # 3: a cluster-conditioned G, one cluster a channel
        return Trainer(cfg, data=data)

    full = trainer(n + m)
    full.run()
    first = trainer(n)
    first.run()
    path = save_checkpoint(first.state_dict(), tmp_path / "ckpt.pt")
    resumed = trainer(n + m)
    resumed.load_state_dict(load_checkpoint(path))
    resumed.run()
    assert full.objective.balance.groups == (3 if stacked else 1)  # stacked: one running histogram a channel
    assert full.objective.guidance == (1.0 if groups else 0.0)  # the guided G's clusters came from the balance's
    if groups:  # G draws each channel's clusters as often as the real images hold them, and D reads them
        clusters = full.objective.balance.clusters_of(data)  # 64 x 3
        shares = torch.stack([torch.bincount(c, minlength=CLUSTERS) for c in clusters.t()]) / len(clusters)
        assert torch.allclose(full.G.cumulative, shares.cumsum(1)) and full.D.cluster_embed.weight.any()
        # what sample, eval, Explore and export load: the same G, prior included, drawing the same images
        loaded = generator_from_state(load_checkpoint(save_checkpoint(full.state_dict(), tmp_path / "end.pt")))
        z = torch.randn(8, full.G.latent_dim)
        with torch.no_grad():
            assert torch.equal(loaded.generator(z), full.sampler.eval()(z))
    assert torch.equal(full.objective.balance.running, resumed.objective.balance.running)
    for a, b in zip(full.G.state_dict().values(), resumed.G.state_dict().values()):
        assert torch.equal(a, b)


def test_a_cluster_conditioned_g_needs_one_group_a_channel_on_stacked_mnist_and_one_elsewhere() -> None:
    cfg = tiny_config("dcgan", steps=1)
    cfg.model.cluster_groups = 3  # the shapes are one image each, not three channels of digits
    with pytest.raises(ConfigError, match="must be 1 for this data set"):
        cfg.validate()
    cfg = preset_config("stacked_mnist-default")
    cfg.validate()
    cfg.data.channels = 1  # stacked MNIST turned grey: one image, no channels of digits
    with pytest.raises(ConfigError, match="must be 1 for this data set"):
        cfg.validate()


def test_point_sets_refuse_cluster_balance() -> None:
    cfg = preset_config("ring-default")
    cfg.validate()
    cfg.train.cluster_balance = 1.0
    with pytest.raises(ConfigError, match="for images"):
        cfg.validate()


def test_the_speed_probe_times_an_untrained_balance_and_trains_no_encoder(monkeypatch) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("a speed probe trained the encoder")

    monkeypatch.setattr(cb, "train_encoder", refuse)
    calls = []
    loss = cb.ClusterBalance.loss
    monkeypatch.setattr(cb.ClusterBalance, "loss", lambda self, fake, *a: calls.append(self.groups) or loss(self, fake))
    told = []  # the probe's runs are cluster-conditioned as the recipe is: their D's projection costs its share too
    clusters_of = cb.ClusterBalance.clusters_of
    monkeypatch.setattr(cb.ClusterBalance, "clusters_of", lambda self, data: told.append(1) or clusters_of(self, data))
    cfg = preset_config("stacked_mnist-default")
    cfg.train.cluster_balance, cfg.train.batch_size = 1.0, 8
    assert cfg.model.cluster_groups == 3 and probe_speed(cfg, seconds=0.2).steps_per_second > 0
    assert calls and set(calls) == {3} and told  # the G steps went through it, channel by channel


def test_building_the_balance_leaves_the_global_random_stream_as_it_was(tmp_path) -> None:
    data = ImageData(torch.randint(0, 256, (20, 1, 28, 28), dtype=torch.uint8))
    for _ in range(2):  # trained, then loaded from the cache
        torch.manual_seed(7)
        cb.ClusterBalance.for_data(data, cache_dir=tmp_path)
        after = torch.rand(3)
        torch.manual_seed(7)
        assert torch.equal(after, torch.rand(3))


def test_a_cluster_conditioned_step_guides_g_toward_the_clusters_its_latents_picked(monkeypatch) -> None:
    digits = torch.randint(0, 256, (30, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    cfg = tiny_config("dcgan", steps=1, cluster_balance=1.0, cluster_guidance=2.5)
    cfg.data.name, cfg.model.cluster_groups = "stacked_mnist", 3
    trainer = Trainer(cfg, data=stack_digits(digits, torch.arange(30) % 10, 64, seed=0))
    seen = []
    loss = cb.ClusterBalance.loss
    monkeypatch.setattr(cb.ClusterBalance, "loss", lambda self, fake, weight, picked, guidance: seen.append(
        (fake.detach(), picked, guidance)) or loss(self, fake, weight, picked, guidance))
    told = []  # what D is told about the fakes of the D phase (the G phase judges the same fakes)
    forward = trainer.D.forward
    monkeypatch.setattr(trainer.D, "forward", lambda x, y=None, **k: told.append(y) or forward(x, y, **k))
    z = trainer.batches.noise  # the latents drawn for the step, recorded on the way
    drawn = []
    trainer.objective.noise = lambda n: drawn.append(z(n)) or drawn[-1]
    trainer.step()
    (fake, picked, guidance), = seen
    assert guidance == 2.5 and torch.equal(picked, trainer.G.clusters(drawn[0][0]))  # B x 3, from the latents
    assert any(y is not None and torch.equal(y, picked) for y in told)  # D judged the fakes with those clusters
