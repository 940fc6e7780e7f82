"""The cluster-conditioned G and D: clusters drawn from G's latent in the prior's shares, its codes steer what it
draws, the prior travels with the weights, the guidance term pulls a sample into the cluster it was asked for, D reads
each pack slot's clusters, and a stacked set's clusters are its channels' digits'."""

from __future__ import annotations

import pytest
import torch

from gan_core.config import ModelConfig
from gan_core.data.stacked import stack_digits
from gan_core.models import ClusterGenerator, build_models
from gan_core.models.clustered import CLUSTERS
from gan_core.train import balance as cb

SHAPE = (3, 28, 28)


def _g(groups: int = 3) -> ClusterGenerator:
    torch.manual_seed(0)
    g, _ = build_models(ModelConfig(arch="dcgan", latent_dim=16, width=8, cluster_groups=groups), SHAPE)
    assert isinstance(g, ClusterGenerator)
    return g


def test_clusters_are_drawn_from_the_latent_in_the_prior_shares() -> None:
    g = _g()
    prior = torch.zeros(3, 7)  # fewer clusters than CLUSTERS, as a small data set leaves: the rest are never drawn
    prior[0, :3] = torch.tensor([0.6, 0.3, 0.1])
    prior[1, 2], prior[2, 4:] = 1.0, 1 / 3
    g.set_prior(prior)
    picked = g.clusters(torch.randn(30_000, 16, generator=torch.Generator().manual_seed(1)))  # 30,000 x 3
    shares = torch.stack([torch.bincount(picked[:, k], minlength=CLUSTERS).float() / len(picked) for k in range(3)])
    assert torch.allclose(shares[:, :7], prior, atol=0.01) and shares[:, 7:].sum() == 0
    # each group's pick reads its own latent dim: the groups are drawn independently of each other
    a, b = picked[:, 0].float(), picked[:, 2].float()
    assert abs(torch.corrcoef(torch.stack([a, b]))[0, 1]) < 0.02


def test_g_is_a_function_of_its_latent_and_the_picked_cluster_steers_it() -> None:
    g = _g().eval()
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(g(z), g(z))  # the clusters come from z: sampling needs nothing else
        drawn = {}
        for c in (3, 40):  # the same latent asked for two other clusters
            g.clusters = lambda z, c=c: torch.full((len(z), 3), c)
            drawn[c] = g(z)
    assert (drawn[3] - drawn[40]).abs().amax((1, 2, 3)).min() > 1e-3


def test_the_prior_is_saved_with_the_weights() -> None:
    g = _g(groups=1)
    g.set_prior(torch.softmax(torch.randn(CLUSTERS), 0))
    fresh = _g(groups=1)
    z = torch.randn(500, 16)
    assert not torch.equal(fresh.clusters(z), g.clusters(z))
    fresh.load_state_dict(g.state_dict())
    assert torch.equal(fresh.clusters(z), g.clusters(z))


def test_guidance_pulls_a_sample_into_the_cluster_it_was_asked_for() -> None:
    torch.manual_seed(0)
    encoder = cb.Encoder(1).eval().requires_grad_(False)
    centroids = encoder(torch.rand(2, 1, 28, 28) * 2 - 1)  # two clusters: two random images' features
    balance = cb.ClusterBalance(encoder, centroids, torch.tensor([0.5, 0.5]), groups=3)
    fake = (torch.rand(4, 3, 28, 28) * 2 - 1).requires_grad_(True)
    picked = torch.tensor([[1, 0, 1]]).repeat(4, 1)  # B x groups

    def asked() -> torch.Tensor:
        """The soft share of each sample's channel in the cluster it was asked for: 4 x 3."""
        units = fake.detach().reshape(12, 1, 28, 28)
        return cb.soft_assign(encoder(units), centroids).gather(1, picked.reshape(12, 1)).view(4, 3)

    before = asked()
    for _ in range(20):
        fake.grad = None
        balance.loss(fake, weight=0.0, picked=picked, guidance=1.0).backward()
        with torch.no_grad():
            fake -= 0.05 * fake.grad.sign()
    assert (asked() > before).all() and asked().mean() > 0.9
    # no guidance: the term is the balance's alone (zero weight, no gradient)
    fake.grad = None
    balance.loss(fake, weight=0.0, picked=picked, guidance=0.0).backward()
    assert not fake.grad.any()


@pytest.mark.parametrize("change,message", [
    ({"conditional": True}, "not both"), ({"arch": "mlp-2d"}, "for images")])
def test_the_configuration_refuses_what_a_cluster_conditioned_g_cannot_be(change: dict, message: str) -> None:
    from gan_core.errors import ConfigError
    from gan_core.presets import preset_config

    cfg = preset_config("ring-default" if "arch" in change else "mnist-default")
    cfg.model.cluster_groups = 1
    if "conditional" in change:
        cfg.model.conditional = True
    with pytest.raises(ConfigError, match=message):
        cfg.validate()


def test_d_reads_each_pack_slots_clusters_through_its_own_embedding() -> None:
    torch.manual_seed(0)
    cfg = ModelConfig(arch="dcgan", latent_dim=16, width=8, pack=2, cluster_groups=3)
    _, d = build_models(cfg, SHAPE)
    x = torch.rand(4, *SHAPE) * 2 - 1  # two packs of two
    y = torch.randint(CLUSTERS, (4, 3), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        plain = d(x, y)
        assert torch.equal(plain, d(x, torch.zeros_like(y)))  # zero embeddings at the start: the clusters add nothing
        d.cluster_embed.weight.normal_()
        told = d(x, y)
        swapped = y[[1, 0, 2, 3]]  # the first pack's two samples' clusters swapped between its slots
        assert told.shape == (2,) and not torch.allclose(told, plain)
        moved = d(x, swapped)
        assert (told[0] - moved[0]).abs() > 1e-2 and told[1] == moved[1]  # only that pack's logit moves
    with pytest.raises(AssertionError, match="needs the clusters"):
        d(x)


def test_clusters_of_a_stacked_set_are_each_channels_digits_clusters() -> None:
    gen = torch.Generator().manual_seed(0)
    digits = torch.randint(0, 256, (12, 1, 28, 28), dtype=torch.uint8, generator=gen)
    stacked = stack_digits(digits, torch.arange(12) % 10, 50, seed=0)  # 50 x 3 x 28 x 28
    torch.manual_seed(0)
    encoder = cb.Encoder(1).eval().requires_grad_(False)
    centroids = encoder(cb.prepare(digits[:5], 1))  # 5 clusters: the first five digits' own features
    balance = cb.ClusterBalance(encoder, centroids, torch.full((5,), 0.2), groups=3)
    clusters = balance.clusters_of(stacked)  # 50 x 3
    own = (encoder(cb.prepare(digits, 1)) @ centroids.t()).argmax(1)  # 12: each source digit's nearest cluster
    source = (stacked.images.view(50, 3, 1, -1) == digits.view(1, 1, 12, -1)).all(3).int().argmax(2)  # 50 x 3
    assert clusters.shape == (50, 3) and torch.equal(clusters, own[source])
    assert torch.equal(own[:5], torch.arange(5))  # a digit that is a centroid is its own cluster
