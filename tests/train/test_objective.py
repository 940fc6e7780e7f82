"""Objective: each phase computes only its own model's gradients, the joint D call, fake reuse, the penalty."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import tiny_config

from gan_core.errors import CheckpointError, ConfigError
from gan_core.metric_names import D_FAKE, D_REAL, LOSS_D, LOSS_G
from gan_core.train.losses import d_loss, g_loss, gradient_penalty, r1_penalty
from gan_core.train.objective import Fakes, Objective
from gan_core.train.runtime import Runtime
from gan_core.train.trainer import Trainer

FP32 = Runtime(torch.device("cpu"), 1, False, False, False)


def _trainer(arch: str = "mlp", loss: str = "bce", **train: object) -> Trainer:
    return Trainer(tiny_config(arch, loss, amp=False, **train), callbacks=[])


def _grads(module: torch.nn.Module) -> list[torch.Tensor | None]:
    return [p.grad for p in module.parameters()]


@pytest.mark.parametrize("arch,loss", [("mlp", "bce"), ("dcgan", "bce"), ("dcgan", "wgan-gp")])
def test_each_phase_computes_only_its_own_models_gradients(arch: str, loss: str) -> None:
    tr = _trainer(arch, loss)
    real, labels = tr.batches.real(16)
    metrics, fakes = tr.objective.d_phase(real, labels, keep_fakes=True)
    assert all(g is None for g in _grads(tr.G)) and all(g is not None for g in _grads(tr.D))
    assert set(metrics) == {LOSS_D, D_REAL, D_FAKE}
    tr.D.zero_grad(set_to_none=True)
    g_metrics = tr.objective.g_phase(fakes)
    # backward(inputs=G's parameters): D's weight gradients are never computed in the G phase.
    assert all(g is None for g in _grads(tr.D)) and all(g is not None for g in _grads(tr.G))
    for value in (*metrics.values(), *g_metrics.values()):
        assert value.dim() == 0 and not value.requires_grad  # detached, still on the device
    assert set(g_metrics) == {LOSS_G}


def _count_calls(module: torch.nn.Module) -> list[int]:
    sizes: list[int] = []
    module.register_forward_hook(lambda m, args, out: sizes.append(args[0].shape[0]))
    return sizes


@pytest.mark.parametrize("arch,calls", [("mlp", [32]), ("dcgan", [16, 16])])
def test_real_and_fake_share_one_d_call_unless_d_has_batchnorm(arch: str, calls: list[int]) -> None:
    tr = _trainer(arch)
    sizes = _count_calls(tr.D)
    real, labels = tr.batches.real(16)
    tr.objective.d_phase(real, labels)
    assert sizes == calls  # BatchNorm: real and fake keep separate batch statistics


def test_the_joint_d_call_gives_the_loss_and_gradients_of_two_calls() -> None:
    tr = _trainer("mlp")
    noise = tr.batches.noise(16)
    separate = Objective(tr.G, tr.D, tr.config.train, FP32, lambda n: noise)
    joint = Objective(tr.G, tr.D, tr.config.train, FP32, lambda n: noise)
    separate.joint_d = False
    real, labels = tr.batches.real(16)
    results = []
    for objective in (joint, separate):
        tr.D.zero_grad(set_to_none=True)
        metrics, _ = objective.d_phase(real, labels)
        results.append((metrics, [p.grad.clone() for p in tr.D.parameters()]))
    (m1, g1), (m2, g2) = results
    assert joint.joint_d and all(torch.allclose(m1[k], m2[k], atol=1e-6) for k in m1)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(g1, g2))


@pytest.mark.parametrize("loss,n_critic,forwards", [("bce", 1, 1), ("hinge", 3, 3), ("wgan-gp", 2, 3)])
def test_generator_runs_once_per_step_where_the_loss_allows(loss: str, n_critic: int, forwards: int) -> None:
    # bce/hinge: the last critic step's fakes (with G's graph) feed the G phase. WGAN-GP: detached fakes in every
    # critic step, then one fresh batch for the G phase.
    tr = _trainer("mlp", loss, n_critic=n_critic)
    sizes = _count_calls(tr.G)
    tr.step()
    assert sizes == [16] * forwards


def test_wgan_gp_critic_loss_adds_lambda_times_the_gradient_penalty() -> None:
    tr = _trainer("mlp", "wgan-gp", gp_lambda=10.0)
    z, y = tr.batches.noise(16)
    objective = Objective(tr.G, tr.D, tr.config.train, FP32, lambda n: (z, y))
    real, labels = tr.batches.real(16)
    torch.manual_seed(5)
    metrics, fakes = objective.d_phase(real, labels)
    assert not fakes.images.requires_grad  # the critic never trains through G
    torch.manual_seed(5)  # the same interpolation weights
    with torch.no_grad():
        fake = tr.G(z, y)
        wasserstein = tr.D(fake, y).mean() - tr.D(real, labels).mean()
    expected = wasserstein + 10.0 * gradient_penalty(tr.D, real, fake, labels)
    assert torch.allclose(metrics[LOSS_D], expected.detach(), atol=1e-5)
    with torch.no_grad():
        assert metrics[D_REAL] == pytest.approx(float(tr.D(real, labels).mean()), abs=1e-5)  # a critic's raw score


@pytest.mark.parametrize("loss", ["bce", "hinge"])
def test_r1_adds_half_gamma_times_the_real_gradient_penalty_to_d_and_its_gradients(loss: str) -> None:
    tr = _trainer("mlp", loss)
    z, y = tr.batches.noise(16)
    real, labels = tr.batches.real(16)
    runs = []
    for gamma in (0.0, 4.0):
        objective = Objective(tr.G, tr.D, tiny_config("mlp", loss, r1=gamma).train, FP32, lambda n: (z, y))
        metrics, _ = objective.d_phase(real, labels)
        runs.append((float(metrics[LOSS_D]), [p.grad.clone() for p in tr.D.parameters()]))
    (plain, g0), (penalised, g4) = runs
    with torch.no_grad():
        base = d_loss(loss, tr.D(real, labels), tr.D(tr.G(z, y), y), 1.0, 0.0)
    penalty = r1_penalty(tr.D, real, labels).detach()
    assert plain == pytest.approx(float(base), abs=1e-5)
    assert penalised == pytest.approx(float(base + 2.0 * penalty), abs=1e-5) and float(penalty) > 0
    # The penalty's own gradient reaches D's weights (through the double backward; the last bias has none).
    tr.D.zero_grad(set_to_none=True)
    (2.0 * r1_penalty(tr.D, real, labels)).backward()
    extra = [torch.zeros_like(p) if p.grad is None else p.grad for p in tr.D.parameters()]
    assert all(torch.allclose(b - a, e, atol=1e-5) for a, b, e in zip(g0, g4, extra))
    assert sum(float(e.abs().sum()) for e in extra) > 0


def test_lazy_r1_penalises_one_step_in_n_with_n_times_the_weight() -> None:
    tr = Trainer(tiny_config("mlp", "hinge", r1=1.0, r1_every=3, amp=False), callbacks=[])
    due: list[bool] = []
    d_phase = tr.objective.d_phase
    tr.objective.d_phase = lambda *a, **k: (due.append(k["r1_due"]), d_phase(*a, **k))[1]  # type: ignore[method-assign]
    for _ in range(5):  # the step metrics hold log_every (5) steps between flushes
        tr.step()
    assert due == [True, False, False, True, False]
    z, y = tr.batches.noise(16)
    real, labels = tr.batches.real(16)
    objective = Objective(tr.G, tr.D, tr.config.train, FP32, lambda n: (z, y))
    lazy, skipped = (float(objective.d_phase(real, labels, r1_due=d)[0][LOSS_D]) for d in (True, False))
    assert lazy - skipped == pytest.approx(0.5 * 3.0 * float(r1_penalty(tr.D, real, labels).detach()), rel=1e-4)


def test_r1_keeps_an_auto_d_free_of_batchnorm_and_refuses_an_explicit_one() -> None:
    tr = Trainer(tiny_config("dcgan", r1=1.0, amp=False), callbacks=[])
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in tr.D.modules())
    cfg = tiny_config("dcgan")
    cfg.train.r1, cfg.model.d_norm = 1.0, "batch"
    with pytest.raises(ConfigError, match="R1 penalty needs a D without BatchNorm"):
        cfg.validate()
    # A checkpoint of the BatchNorm D cannot feed the penalised one (nor the other way): refused, named.
    state = Trainer(tiny_config("dcgan", amp=False), callbacks=[]).state_dict()
    with pytest.raises(CheckpointError, match="D's normalisation batch vs none .*R1 0 vs 1"):
        tr.load_state_dict(state)


def test_label_smoothing_changes_the_bce_targets() -> None:
    tr = _trainer("mlp")
    z, y = tr.batches.noise(16)
    real, labels = tr.batches.real(16)
    losses = []
    for real_label in (1.0, 0.9):
        t = tiny_config("mlp", real_label=real_label).train
        metrics, _ = Objective(tr.G, tr.D, t, FP32, lambda n: (z, y)).d_phase(real, labels)
        losses.append(float(metrics[LOSS_D]))
    assert losses[0] != pytest.approx(losses[1], abs=1e-4)


def test_each_phase_replaces_its_models_gradients_instead_of_adding_to_them() -> None:
    tr = _trainer("mlp")
    z, y = tr.batches.noise(16)
    objective = Objective(tr.G, tr.D, tr.config.train, FP32, lambda n: (z, y))
    real, labels = tr.batches.real(16)
    grads = []
    for _ in range(2):  # the same inputs twice: the second call must not double the first call's gradients
        _, fakes = objective.d_phase(real, labels, keep_fakes=True)
        objective.g_phase(fakes)
        grads.append([p.grad.clone() for p in (*tr.D.parameters(), *tr.G.parameters())])
    assert all(torch.equal(a, b) for a, b in zip(*grads))


def test_the_class_head_learns_real_classes_and_pushes_g_to_the_asked_class() -> None:
    tr = _trainer("dcgan", conditional=True, class_weight=2.0)
    assert tr.D.classes is not None and tr.objective.class_weight == 2.0
    real, labels = tr.batches.real(16)
    tr.objective.d_phase(real, labels)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in tr.D.classes.parameters())
    # The G phase's loss is the adversarial loss plus the weighted cross-entropy of D's class head on the fakes.
    z, y = torch.randn(16, 16), torch.arange(16) % tr.num_classes
    metrics = tr.objective.g_phase(Fakes(tr.G(z, y), y))
    with torch.no_grad():
        logits, classes = tr.D(tr.G(z, y), y, with_classes=True)
        expected = g_loss("bce", logits) + 2.0 * F.cross_entropy(classes, y)
    assert torch.allclose(metrics[LOSS_G], expected, atol=1e-5)


def test_without_a_class_weight_d_has_no_class_head_and_the_losses_are_plain() -> None:
    tr = _trainer("dcgan", conditional=True)
    assert tr.D.classes is None and tr.objective.class_weight == 0.0
    with pytest.raises(AssertionError, match="class head"):
        tr.D(tr.batches.real(4)[0], torch.zeros(4, dtype=torch.long), with_classes=True)


def test_a_class_weight_needs_a_conditional_model() -> None:
    with pytest.raises(ConfigError, match="conditional"):
        tiny_config("dcgan", class_weight=1.0)


def test_d_sees_augmented_real_and_fake_images_in_both_phases() -> None:
    tr = _trainer("dcgan", augment="translation,cutout")
    seen: list[torch.Tensor] = []
    tr.D.register_forward_hook(lambda m, args, out: seen.append(args[0].detach().clone()))
    real, labels = tr.batches.real(16)
    _, fakes = tr.objective.d_phase(real, labels, keep_fakes=True)
    tr.objective.g_phase(fakes)
    assert len(seen) == 3  # BatchNorm D: real, fake, then the G phase's fake
    assert seen[0].shape == real.shape and not torch.equal(seen[0], real)
    assert not torch.equal(seen[2], fakes.images.detach())
    assert (seen[0] == 0).flatten(1).any(1).all()  # every real image lost a cutout square


def test_augmentation_changes_training_and_stays_reproducible() -> None:
    a, b, plain = (_trainer("dcgan", steps=4, augment="translation"), _trainer("dcgan", steps=4, augment="translation"),
                   _trainer("dcgan", steps=4))
    for tr in (a, b, plain):
        tr.run()
    assert all(torch.equal(p, q) for p, q in zip(a.G.parameters(), b.G.parameters()))  # draws from the run's seed
    assert not all(torch.equal(p, q) for p, q in zip(a.G.parameters(), plain.G.parameters()))


@pytest.mark.parametrize("arch,pack", [("mlp", 1), ("dcgan", 2)])  # one joint D call; BatchNorm and packing
def test_feature_matching_adds_the_weighted_distance_of_mean_d_features_to_g_only(arch: str, pack: int) -> None:
    cfg = tiny_config(arch, amp=False)
    cfg.model.pack = pack  # D judges packs of m samples (PacGAN): its features are one row a pack
    tr = Trainer(cfg.validate(), callbacks=[])
    z, y = tr.batches.noise(16)
    real, labels = tr.batches.real(16)
    runs = []
    for weight in (0.0, 2.0):
        t = tiny_config(arch, feature_matching=weight).train
        objective = Objective(tr.G, tr.D, t, FP32, lambda n: (z, y))
        d_metrics, fakes = objective.d_phase(real, labels, keep_fakes=True)
        assert tr.D.features is None  # the D phase kept the real mean only, not its calls' graphs
        d_grads = [p.grad.clone() for p in tr.D.parameters()]
        g_metrics = objective.g_phase(fakes)
        g_grads = [p.grad.clone() for p in tr.G.parameters()]
        runs.append((float(d_metrics[LOSS_D]), d_grads, float(g_metrics[LOSS_G]), g_grads))
    (d0, dg0, g0, gg0), (d2, dg2, g2, gg2) = runs

    def mean_features(x: torch.Tensor) -> torch.Tensor:  # D's body on packs: N/m x (m*C) x H x W -> F
        return tr.D.body(x.reshape(x.shape[0] // pack, pack * x.shape[1], *x.shape[2:])).mean(0)

    with torch.no_grad():
        distance = (mean_features(tr.G(z, y)) - mean_features(real)).pow(2).mean()
    assert float(distance) > 0
    assert g2 - g0 == pytest.approx(2.0 * float(distance), rel=1e-4)
    assert d2 == d0 and all(torch.equal(a, b) for a, b in zip(dg0, dg2))  # D's phase is untouched
    assert not all(torch.allclose(a, b) for a, b in zip(gg0, gg2))  # the term reaches G's weights
    assert tr.D.features is None  # the G phase let go of the batch's graph
