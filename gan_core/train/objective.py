"""The losses of one training step: the D phase and the G phase, with their gradients (as stylegan2-ada's loss.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..catalog import LOSSES
from ..config import TrainConfig, parse_policy
from ..metric_names import D_FAKE, D_REAL, LOSS_D, LOSS_G
from ..models import Discriminator, Generator
from ..models.clustered import ClusterGenerator
from .augment import augment
from .balance import ClusterBalance
from .distributed import has_batchnorm
from .losses import d_loss, g_loss, gradient_penalty, probabilities, r1_penalty
from .runtime import Runtime

# noise(n) -> (latents n x latent_dim, labels n or None), drawn from the training's own random stream.
Noise = Callable[[int], tuple[torch.Tensor, torch.Tensor | None]]
Metrics = dict[str, torch.Tensor]  # metric name -> detached 0-dim tensor, still on the device


@dataclass
class Fakes:
    """A batch from G made by a D phase; with G's graph kept (images.requires_grad) the G phase can reuse it."""

    images: torch.Tensor  # B x C x H x W
    labels: torch.Tensor | None  # B class indices for conditional models; B x groups clusters for clustered ones


class Objective:
    """Computes the gradients of one step; the caller steps the optimizers after each phase.

    d_phase: D's loss on a real batch and a fresh fake batch (+ the gradient penalty for WGAN-GP), backward into D's
    parameters only. g_phase: G's loss through D, backward into G's parameters only. Each phase replaces its model's
    gradients. What shapes the losses lives here, and the trainer does not change for it: the gradient penalties
    (WGAN-GP's, R1), the AC-GAN class loss (in both phases' loss/D and loss/G), feature matching (in loss/G), and the
    augmentation of everything D sees.

    Under DDP `synced` holds G and D wrapped in DistributedDataParallel. Each backward that needs a model's
    gradients averaged goes through exactly one call of its wrapper (DDP allows one forward per backward); other
    calls (BatchNorm's separate real batch, the gradient penalties, D in the G phase) use the bare module, whose
    parameters are the same tensors, so their gradients join the one averaged backward.
    """

    def __init__(self, G: Generator, D: Discriminator, train: TrainConfig, runtime: Runtime, noise: Noise,
                 rng: torch.Generator | None = None, synced: tuple[nn.Module, nn.Module] | None = None,
                 balance: ClusterBalance | None = None) -> None:
        self.G, self.D = G, D
        self.loss = train.loss
        self.real_label, self.fake_label = train.real_label, train.fake_label
        self.uses_gp = LOSSES[train.loss].needs_gp  # the critic's gradient penalty, weighted by gp_lambda
        self.gp_lambda = train.gp_lambda
        # R1's gamma (D's gradient at real images penalised, any loss; 0 = off), applied lazily: on the D phases the
        # trainer marks, one step in r1_every, weighted r1_every times (StyleGAN2's lazy regularisation).
        self.r1 = train.r1 * train.r1_every
        self.noise = noise
        self.runtime = runtime
        self.g_forward = runtime.compiled(G)
        # Double backward through a compiled D is unreliable: with a gradient penalty D stays eager.
        eager_d = self.uses_gp or self.r1 > 0
        self.d_forward = D if eager_d else runtime.compiled(D)
        self.g_sync, self.d_sync = self.g_forward, self.d_forward
        if synced is not None:  # the DDP wrappers, compiled where the bare modules are
            self.g_sync = runtime.compiled(synced[0])
            self.d_sync = synced[1] if eager_d else runtime.compiled(synced[1])
        # Without batch statistics in D real and fake go through D as one batch: the same result, half the calls.
        self.joint_d = not has_batchnorm(D)
        # WGAN-GP's critic steps see detached fakes; the other losses keep the last D phase's fakes for the G phase,
        # so a step runs G forward once.
        self.reuse_fakes = not self.uses_gp
        self.g_params = [p for p in G.parameters() if p.requires_grad]
        self.d_params = [p for p in D.parameters() if p.requires_grad]
        # AC-GAN: D's class head learns the real images' classes, G is pushed to draw the class it was asked for.
        self.class_weight = train.class_weight if D.classes is not None else 0.0
        self.policy = parse_policy(train.augment)
        assert rng is not None or not self.policy, "augmentation draws from the run's random stream"
        self.rng = rng
        # Feature matching: G's loss also pulls the mean of D's features over its batch toward the real batch's mean
        # (F: D's feature width), which the D phase of the same step keeps.
        self.feature_matching = train.feature_matching
        self._real_features: torch.Tensor | None = None  # F
        # Cluster balance (balance.py): G's loss also pulls its samples' cluster shares toward the real images'.
        self.balance, self.balance_weight = balance, train.cluster_balance
        # A cluster-conditioned G (models/clustered.py): D is told each sample's clusters, and G is also pulled to
        # draw the cluster its latent picked.
        self.guided = isinstance(G, ClusterGenerator)
        assert balance is not None or not self.guided, "a cluster-conditioned G is guided by the balance's encoder"
        self.guidance = train.cluster_guidance if self.guided else 0.0

    def _d(self, images: torch.Tensor, labels: torch.Tensor | None, synced: bool = False, features: bool = False
           ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D on augmented images (when a policy is set): (N logits, N x K class logits or None); synced: through
        the DDP wrapper (the one call of a D phase whose backward averages D's gradients); features: leave the
        body's features in D.features for feature matching (only the calls that need them keep their graph)."""
        forward = self.d_sync if synced else self.d_forward
        if self.policy:
            images = augment(images, self.policy, self.rng)
        self.D.keep_features = features and self.feature_matching > 0
        if not self.class_weight:
            out = forward(images, labels), None
        else:
            out = forward(images, labels, with_classes=True)
        self.D.keep_features = False
        return out

    def _class_loss(self, class_logits: torch.Tensor | None, labels: torch.Tensor | None) -> torch.Tensor | float:
        if class_logits is None:
            return 0.0
        return self.class_weight * F.cross_entropy(class_logits.float(), labels)

    def d_phase(self, real: torch.Tensor, real_labels: torch.Tensor | None, keep_fakes: bool = False,
                r1_due: bool = True) -> tuple[Metrics, Fakes]:
        """D's gradients for one update (replacing earlier ones); real: B x C x H x W in [-1, 1].

        keep_fakes: make the fakes with G's graph so g_phase can reuse them (ignored where the loss cannot).
        r1_due: add the R1 penalty in this phase (where the run has one; lazy R1 skips it on most steps).
        Returns ({loss/D, D(x), D(G(z))}, the fakes).
        """
        b = real.shape[0]
        z, fake_labels = self._noise(b)  # B x latent, B (or B x groups)
        with self.runtime.autocast():
            if keep_fakes and self.reuse_fakes:
                fake = self.g_sync(z, fake_labels)  # B x C x H x W, with G's graph for the G phase's backward
            else:
                with torch.no_grad():
                    fake = self.g_forward(z, fake_labels)
            if self.joint_d:  # one D call on 2B images: B real then B fake
                labels = None if real_labels is None else torch.cat([real_labels, fake_labels])
                both, classes = self._d(torch.cat([real, fake.detach()]), labels, synced=True,
                                        features=True)  # 2B/m, 2B x K
                self._keep_real_features(lambda f: f.chunk(2)[0])  # D.features: 2B/m x F, the reals first
                d_real, d_fake = both.chunk(2)  # B/m each (m: D's packing; real and fake packs never mix)
                real_classes = None if classes is None else classes[:b]
            else:  # BatchNorm: real and fake batches keep separate statistics
                d_real, real_classes = self._d(real, real_labels, features=True)
                self._keep_real_features(lambda f: f)
                d_fake, _ = self._d(fake.detach(), fake_labels, synced=True)
            # The class head learns from real images only: fakes of the wrong class would teach it wrong labels.
            loss = (d_loss(self.loss, d_real.float(), d_fake.float(), self.real_label, self.fake_label)
                    + self._class_loss(real_classes, real_labels))
        if self.uses_gp:
            loss = loss + self.gp_lambda * self._gradient_penalty(real, fake, real_labels)
        if self.r1 and r1_due:
            loss = loss + 0.5 * self.r1 * self._r1_penalty(real, real_labels)
        _clear(self.d_params)
        loss.backward(inputs=self.d_params)
        metrics = {LOSS_D: loss.detach(), D_REAL: probabilities(self.loss, d_real.detach().float()),
                   D_FAKE: probabilities(self.loss, d_fake.detach().float())}
        return metrics, Fakes(fake, fake_labels)

    def _noise(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """n latents and their labels: class labels drawn with them, or the clusters a cluster-conditioned G picks
        from them (n x groups), which D is told as it is told the real images' clusters."""
        z, labels = self.noise(n)
        return z, self.G.clusters(z) if self.guided else labels

    def _keep_real_features(self, reals: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """After a D call that saw the real batch: keep the mean of its real packs' features (reals picks those rows
        of D.features), detached, for this step's G phase."""
        if self.feature_matching:
            self._real_features = reals(self.D.features).detach().float().mean(0)  # F
            self.D.features = None  # do not hold the D phase's graph

    def _feature_distance(self) -> torch.Tensor:
        """Mean over D's features of the squared difference between the generated batch's mean (the G phase's D
        call, with G's graph) and the real batch's."""
        assert self._real_features is not None, "feature matching needs a D phase before the G phase"
        fake = self.D.features.float().mean(0)  # F
        self.D.features = None  # do not hold the batch's graph past this step
        return (fake - self._real_features).pow(2).mean()

    def _gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        # Under autocast too (PyTorch's AMP recipe): faster critic steps in bf16; the penalty itself summed in fp32.
        with self.runtime.autocast():
            gp = gradient_penalty(self.D, real, fake.float(), labels)
        return gp.float()

    def _r1_penalty(self, real: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        # Its own D call on the reals (bare D, as the WGAN-GP penalty): the gradient is taken with respect to D's
        # input, which the joint real + fake call cannot give per image without tracking the fakes too.
        with self.runtime.autocast():
            penalty = r1_penalty(lambda x, lab: self._d(x, lab)[0], real, labels)
        return penalty.float()

    def g_phase(self, fakes: Fakes) -> Metrics:
        """G's gradients for one update (replacing earlier ones): through `fakes` when they carry G's graph, else
        through a fresh batch of the same size. Returns {loss/G}."""
        with self.runtime.autocast():
            if fakes.images.requires_grad:
                fake, labels = fakes.images, fakes.labels
            else:
                z, labels = self._noise(fakes.images.shape[0])
                fake = self.g_sync(z, labels)  # B x C x H x W
            d_gen, classes = self._d(fake, labels, features=True)  # bare D: the G phase averages G's gradients only
            loss = g_loss(self.loss, d_gen.float()) + self._class_loss(classes, labels)
            if self.feature_matching:
                loss = loss + self.feature_matching * self._feature_distance()
            if self.balance is not None:
                loss = loss + self.balance.loss(fake, self.balance_weight, labels if self.guided else None,
                                                self.guidance)
        _clear(self.g_params)
        # inputs=G's parameters: autograd skips D's weight gradients, which the G step never uses.
        loss.backward(inputs=self.g_params)
        return {LOSS_G: loss.detach()}


def _clear(params: list[torch.Tensor]) -> None:
    """optimizer.zero_grad(set_to_none=True) for these parameters, without its profiler bookkeeping: that costs a
    small MLP a noticeable share of its step (bench/README.md)."""
    for p in params:
        p.grad = None
