"""Batches: real images and noise on the device, drawn from the run's own generator only."""

from __future__ import annotations

import torch

from gan_core.data import ImageData
from gan_core.train.batches import Batches
from gan_core.train.runtime import Runtime

CPU = Runtime(torch.device("cpu"), 1, False, False, False)
NHWC = Runtime(torch.device("cpu"), 1, False, True, False)


def _data() -> ImageData:
    images = torch.arange(6 * 3 * 4 * 4, dtype=torch.int64).remainder(256).to(torch.uint8).view(6, 3, 4, 4)
    return ImageData(images, torch.tensor([0, 1, 2, 0, 1, 2]), ["a", "b", "c"])


def test_real_batches_come_from_the_set_in_minus_one_to_one() -> None:
    batches = Batches(_data(), CPU, torch.Generator().manual_seed(0), 8, conditional=True)
    images, labels = batches.real(5)
    assert images.shape == (5, 3, 4, 4) and images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1
    for img, label in zip(images, labels):  # each drawn image is one of the set's, with its own label
        index = next(i for i in range(6) if torch.equal(img, _data().images[i].float() / 127.5 - 1))
        assert int(label) == int(_data().labels[index])


def test_only_the_runs_generator_is_used_and_it_replays() -> None:
    global_state = torch.get_rng_state()
    a = Batches(_data(), CPU, torch.Generator().manual_seed(3), 8, conditional=True)
    b = Batches(_data(), CPU, torch.Generator().manual_seed(3), 8, conditional=True)
    draws = [(a.real(4), a.noise(4)), (b.real(4), b.noise(4))]
    assert torch.equal(torch.get_rng_state(), global_state)
    (ra, na), (rb, nb) = draws
    assert torch.equal(ra[0], rb[0]) and torch.equal(na[0], nb[0]) and torch.equal(na[1], nb[1])
    assert na[0].shape == (4, 8) and na[1].shape == (4,) and int(na[1].max()) < 3


def test_unconditional_runs_draw_no_labels_and_nhwc_runs_get_nhwc_batches() -> None:
    batches = Batches(_data(), NHWC, torch.Generator().manual_seed(0), 8, conditional=False)
    images, labels = batches.real(2)
    assert labels is None and batches.noise(2)[1] is None
    assert images.is_contiguous(memory_format=torch.channels_last)


def test_a_cluster_conditioned_run_draws_each_image_with_its_own_clusters_and_no_class_labels() -> None:
    clusters = torch.arange(6).unsqueeze(1) * torch.tensor([1, 10])  # 6 x 2: image i holds clusters i and 10 i
    batches = Batches(_data(), CPU, torch.Generator().manual_seed(0), 8, conditional=False, clusters=clusters)
    images, labels = batches.real(5)
    assert labels.shape == (5, 2) and batches.noise(3)[1] is None  # G's clusters come from its latent instead
    for img, pair in zip(images, labels):
        index = next(i for i in range(6) if torch.equal(img, _data().images[i].float() / 127.5 - 1))
        assert pair.tolist() == [index, 10 * index]
