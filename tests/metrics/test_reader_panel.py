"""The stacked-MNIST reader panel: each design learns digits it can tell apart, trains once and is then loaded from
the cache, leaves the caller's random stream alone; the panel's scores are its readers' mean, each reader beside it."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch

import gan_core.metrics.readers as readers
from gan_core.data import ImageData
from gan_core.data.stacked import STACKED_MODES, stack_digits
from gan_core.metric_names import MODES_COVERED, STACKED_KL
from gan_core.metrics.readers import PANEL, Reader, ReaderDesign, reader_panel, train_reader
from gan_core.metrics.stacked import mode_histogram_scores, panel_scores, read_panel

QUICK = 30  # steps: enough for the planted digits below, in seconds


def cells(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n one-channel 'digits' (uint8 n x 1 x 28 x 28) over faint noise and their labels: digit d < 9 is an 8 x 8
    block in cell d of a 3 x 3 grid, 9 px apart, so the readers' 2 px training shifts never reach the next; 9 is
    noise alone."""
    labels = torch.arange(n) % 10
    images = torch.randint(0, 40, (n, 1, 28, 28), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)
    for i, d in enumerate(labels.tolist()):
        if d < 9:
            r, c = divmod(d, 3)
            images[i, 0, 1 + 9 * r:9 + 9 * r, 1 + 9 * c:9 + 9 * c] = 255
    return images, labels


def quick(design: ReaderDesign) -> ReaderDesign:
    return dataclasses.replace(design, steps=QUICK)


@pytest.mark.parametrize("design", [PANEL[0], PANEL[2]], ids=lambda d: d.name)  # each design once (LeNet, MLP)
def test_each_design_learns_digits_it_can_tell_apart(design: ReaderDesign) -> None:
    images, labels = cells(200)
    model, accuracy = train_reader(quick(design), images, labels)
    unseen, truth = cells(100, seed=5)  # other noise
    assert accuracy == 1.0 and torch.equal(readers.reader_of(model)(unseen), truth)


def test_training_repeats_exactly_and_leaves_the_callers_random_stream_alone() -> None:
    images, labels = cells(100)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, _ = train_reader(quick(PANEL[2]), images, labels)  # the MLP: dropout draws random numbers
    assert torch.equal(torch.get_rng_state(), before)
    b, _ = train_reader(quick(PANEL[2]), images, labels)
    c, _ = train_reader(quick(PANEL[3]), images, labels)  # the same design, another seed
    weights = [m.state_dict()["1.weight"] for m in (a, b, c)]
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])


def test_the_panel_trains_once_then_loads_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "READER_STEPS", 3)  # the first reader's (its cache: test_stacked_reader.py)
    designs = (quick(PANEL[2]), quick(PANEL[3]))
    mnist = ImageData(*cells(100), None, "mnist")
    first = reader_panel(mnist, tmp_path, designs=designs)
    assert [r.name for r in first][1:] == ["mlp-a", "mlp-b"] and len(list(tmp_path.glob("digit-mlp-*.pt"))) == 2

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached reader should have been loaded")

    monkeypatch.setattr(readers, "train_reader", no_training)
    before = torch.get_rng_state()
    again = reader_panel(mnist, tmp_path, designs=designs)
    assert torch.equal(torch.get_rng_state(), before)  # loading draws no random numbers either
    probe = torch.randint(0, 256, (30, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    for old, new in zip(first, again):
        assert new.accuracy == pytest.approx(old.accuracy) and torch.equal(new.read(probe), old.read(probe))
    with pytest.raises(AssertionError, match="cached reader"):  # another design's steps: another cache file
        reader_panel(mnist, tmp_path, designs=(dataclasses.replace(designs[0], steps=QUICK + 1),))


def test_the_panels_kl_is_its_readers_mean_and_its_modes_the_fewest_any_reader_sees() -> None:
    images, labels = cells(100)
    real = stack_digits(images, labels, 3000, seed=0)  # 3,000 x 3 x 28 x 28 stacked cells, their labels
    truth = torch.stack([real.labels // 100, real.labels // 10 % 10, real.labels % 10], 1)  # 3,000 x 3

    def exact(x: torch.Tensor) -> torch.Tensor:  # the cells' digit from where the block is
        rows = x[:, 0, 1::9, 1::9].flatten(1) == 255  # N x 9: each cell's top-left pixel
        return torch.where(rows.any(1), rows.long().argmax(1), 9)

    def sevens(x: torch.Tensor) -> torch.Tensor:  # reads every digit as 7
        return torch.full((len(x),), 7)

    triples = read_panel(real.images, [Reader("exact", exact, 1.0), Reader("sevens", sevens, 0.1)])
    assert torch.equal(triples["exact"], truth) and (triples["sevens"] == 7).all()
    s = panel_scores(triples)
    exact_kl = s[f"{STACKED_KL}/exact"]
    assert s[f"{STACKED_KL}/sevens"] == pytest.approx(math.log(STACKED_MODES))  # one mode: log 1,000
    assert exact_kl == pytest.approx(mode_histogram_scores(real.labels)[STACKED_KL])  # the labels' own KL
    assert s[STACKED_KL] == pytest.approx((exact_kl + math.log(STACKED_MODES)) / 2)
    assert s[MODES_COVERED] == 1
