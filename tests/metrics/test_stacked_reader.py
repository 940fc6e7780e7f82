"""The stacked-MNIST digit reader's cache, the mode bench's stacked path and the per-channel coverage classifier, on
planted digits a reader tells apart."""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import pytest
import torch
from formats import make_split
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import modes  # noqa: E402

import gan_core.metrics.coverage as coverage  # noqa: E402
import gan_core.metrics.readers as readers  # noqa: E402
from gan_core.data import ImageData  # noqa: E402
from gan_core.data.stacked import STACKED_MODES, stack_digits  # noqa: E402
from gan_core.metric_names import COVERAGE_CLASSES, COVERAGE_KL, COVERAGE_RECOGNISABLE, MODES_COVERED, STACKED_KL  # noqa: E402
from gan_core.metrics.coverage import ChannelProduct, new_classifier, predict_proba  # noqa: E402
from gan_core.metrics.quality import QualityScorer  # noqa: E402
from gan_core.metrics.readers import Reader  # noqa: E402


def planted(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n one-channel 'digits' whose pixels all hold 20 * digit + 5 (uint8 n x 1 x 28 x 28) and their labels."""
    labels = torch.arange(n) % 10
    return (labels * 20 + 5).to(torch.uint8).view(n, 1, 1, 1).expand(n, 1, 28, 28).contiguous(), labels


def read_planted(images: torch.Tensor) -> torch.Tensor:
    return (images[:, 0, 0, 0].long() - 5) // 20


def test_the_reader_is_trained_once_then_loaded_from_the_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(readers, "READER_STEPS", 3)  # the cache, not the accuracy, is under test
    images, labels = planted(60)
    mnist = ImageData(images, labels, None, "mnist")
    read, accuracy = readers.digit_reader(mnist, tmp_path)
    assert len(list(tmp_path.glob("digit-reader-*.pt"))) == 1 and 0.0 <= accuracy <= 1.0

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached reader should have been loaded")

    monkeypatch.setattr(readers, "train_classifier", no_training)
    again, accuracy_again = readers.digit_reader(mnist, tmp_path)
    probe = torch.randint(0, 256, (30, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    assert accuracy_again == pytest.approx(accuracy) and torch.equal(again(probe), read(probe))
    other = ImageData(images.flip(0).contiguous(), labels.flip(0).contiguous(), None, "mnist")
    with pytest.raises(AssertionError, match="cached reader"):  # other digits: another cache key, so it trains
        readers.digit_reader(other, tmp_path)


class OneModeG(nn.Module):
    """A 'generator' that draws the planted digits 7, 2, 9 as R, G, B whatever the noise (one of 1,000 modes)."""

    latent_dim, num_classes = 4, 0

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        value = torch.tensor([7, 2, 9]) * 20 + 5  # uint8 pixel values of the planted digits
        return (value / 127.5 - 1).view(1, 3, 1, 1).expand(z.shape[0], 3, 28, 28)  # N x 3 x 28 x 28 in [-1, 1]


def test_stacked_scorer_reads_26000_samples_and_the_real_reference_with_each_reader(monkeypatch) -> None:
    def misread(images: torch.Tensor) -> torch.Tensor:  # a reader that calls every 9 a 4
        digits = read_planted(images)
        return torch.where(digits == 9, 4, digits)

    panel = [Reader("exact", read_planted, 0.99), Reader("nines-as-fours", misread, 0.9)]
    monkeypatch.setattr(modes, "reader_panel", lambda mnist, cache: panel)
    score, ref = modes.stacked_scorer(ImageData(*planted(100), None, "mnist"))
    # 26,000 real stacked planted digits: the exact reader gives the KL of their labels; the other never reads a 9,
    # so the fewest modes any reader sees is 9^3
    assert ref["real_modes"] == 729 and ref["real_kl/exact"] == pytest.approx(ref["real_label_kl"])
    assert 0.01 < ref["real_label_kl"] < 0.03  # about the sampling floor, 0.019
    assert ref["reader_accuracy"] == {"exact": 0.99, "nines-as-fours": 0.9}
    run = type("Run", (), {"sampler": OneModeG()})()
    s = score(run, 0)  # every sample 7, 2, 9: the second reader sees 7, 2, 4, one mode too
    assert s[MODES_COVERED] == 1 and s[STACKED_KL] == pytest.approx(math.log(STACKED_MODES))
    # each channel one digit: log 10 apiece, so the channels' shares alone make the whole KL (no dependence)
    assert s["kl_channels"] == pytest.approx(3 * math.log(10))
    # the shares are the readers' mean: B is a 9 to one reader and a 4 to the other
    assert s["digit_shares"][1][2] == 1.0 and s["digit_shares"][2][9] == 0.5 and s["digit_shares"][2][4] == 0.5


def test_a_stacked_run_trains_on_the_mnist_folder_and_prints_the_papers_table(tmp_path: Path, capsys) -> None:
    make_split(tmp_path, "test", 40, gz=True)
    seen: list[int] = []

    def score(run: object, seed: int) -> dict[str, float]:
        seen.append(run.step_count)
        return {MODES_COVERED: 1000, STACKED_KL: 0.04}

    overrides = ["train.steps=4", "train.batch_size=8", "data.num_samples=64", "model.width=8"]
    r = modes.one_run(modes.STACKED, 0, overrides, score, str(tmp_path), trace=2)
    assert r["steps"] == 4 and seen == [2, 4]  # a trace score at step 2, the final one at 4
    assert "step 2: 1000 modes, KL 0.040" in capsys.readouterr().out
    panel = {"reader_accuracy": {"conv-bn": 0.987, "lenet-a": 0.99}, "real_kl/conv-bn": 0.024,
             "real_kl/lenet-a": 0.026}
    runs = [{**r, f"{STACKED_KL}/conv-bn": 0.03 + 0.01 * s, f"{STACKED_KL}/lenet-a": 0.05, "real_modes": 1000,
             "real_kl": 0.025, "real_label_kl": 0.024, **panel, "seed": s} for s in range(3)]
    text = modes.table(modes.STACKED, runs, "ours (3 seeds)")
    for row in ("DCGAN (PacGAN paper)", "VEEGAN (paper)", "PacDCGAN2 (paper)", "real stacked digits, as read"):
        assert row in text
    assert "0.019" in text and "1000.0 ± 0.0" in text and "0.040 ± 0.000" in text
    assert "all 1,000 modes in 3 of 3 seeds" in text
    assert "conv-bn (98.7 %): 0.040 ± 0.006; 0.024" in text and "lenet-a (99.0 %): 0.050 ± 0.000; 0.026" in text


def test_the_channel_product_is_each_channels_probability_multiplied_in_label_order() -> None:
    part = new_classifier(1, 10)  # seeded random weights: uneven probabilities, enough to tell orders apart
    images = torch.randint(0, 256, (8, 3, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    joint = predict_proba(ChannelProduct(part, 3), images)  # 8 x 1000
    r, g, b = (predict_proba(part, images[:, c:c + 1]) for c in range(3))  # 8 x 10 each
    expected = (r[:, :, None, None] * g[:, None, :, None] * b[:, None, None, :]).flatten(1)  # index 100 R + 10 G + B
    assert joint.shape == (8, STACKED_MODES) and torch.allclose(joint, expected, atol=1e-6)


def test_the_scorer_reads_a_stacked_set_per_channel_so_real_triples_are_recognised(monkeypatch) -> None:
    """A joint classifier of 1,000 triples called 1 % of real stacked MNIST recognisable; one digit classifier
    read on each channel names unseen real triples."""
    monkeypatch.setattr(coverage, "_MIN_STEPS", 100)  # planted digits need fewer steps (the recipe's 200: 4 s more)
    images, labels = planted(200)
    images = images + torch.randint(0, 5, images.shape, generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    real = stack_digits(images, labels, 3000, seed=0)  # 200 distinct digits, 20 of each
    scorer = QualityScorer(real, None, num_real=200, memorization=False)
    assert isinstance(scorer.classifier, ChannelProduct) and scorer.classifier_accuracy == 1.0
    unseen = stack_digits(images, labels, 500, seed=1)  # triples the scorer has not seen
    assert torch.equal(predict_proba(scorer.classifier, unseen.images).argmax(1), unseen.labels)
    s = scorer.score(unseen.images)
    assert s[COVERAGE_RECOGNISABLE] > 0.95 and s[COVERAGE_CLASSES] == len(unseen.labels.unique())
    one = real.images[:1].expand(300, -1, -1, -1).contiguous()  # one triple repeated: KL = -log its real share
    share = float((real.labels == real.labels[0]).double().mean())
    s = scorer.score(one)
    assert s[COVERAGE_CLASSES] == 1 and s[COVERAGE_KL] == pytest.approx(-math.log(share), rel=1e-3)


def test_eval_reads_a_stacked_run_with_the_whole_panel(tmp_path: Path, monkeypatch, capsys) -> None:
    import json

    from gan_core.cli.commands import main

    make_split(tmp_path / "mnist", "test", 60, gz=True)
    monkeypatch.setenv("GAN_WORKBENCH_DATA", str(tmp_path / "root"))  # the readers' cache
    # The readers' accuracy is not the point here (random pixels): a few steps each.
    monkeypatch.setattr(readers, "READER_STEPS", 3)
    monkeypatch.setattr(coverage, "_MIN_STEPS", 3)
    monkeypatch.setattr(readers, "PANEL", tuple(dataclasses.replace(d, steps=3) for d in readers.PANEL))
    data = ["--data-dir", str(tmp_path / "mnist")]
    assert main(["train", "--dataset", "stacked_mnist", *data, "--arch", "mlp", "--batch-size", "8", "--latent-dim",
                 "8", "--steps", "2", "--quality-every", "0", "--num-samples", "64", "--device", "cpu",
                 "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()  # the training's output
    assert main(["eval", "--checkpoint", str(tmp_path / "run"), "--num", "30", *data]) == 0
    out, err = capsys.readouterr()
    scores = json.loads(out)
    each = {k.split("/")[-1]: v for k, v in scores.items() if k.startswith(STACKED_KL + "/")}
    assert list(each) == ["conv-bn"] + [d.name for d in readers.PANEL]
    assert scores[STACKED_KL] == pytest.approx(sum(each.values()) / len(each)) and 1 <= scores[MODES_COVERED] <= 30
    assert all(f"Training the digit reader {d.name} on 60 digits" in err for d in readers.PANEL)
