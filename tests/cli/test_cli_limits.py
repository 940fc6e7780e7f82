"""CLI against the one domain per setting (gan_core.limits): every number outside it, a sample count beyond memory
and a resume that asks for another model end in one 'error:' line with exit 2, never a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import REPO, make_run

from gan_core import limits
from gan_core.cli.commands import main
from gan_core.limits import EVAL_COUNT, SAMPLE_COUNT
from gan_core.runs.checkpoints import find_checkpoints, load_checkpoint
from gan_core.settings import DOMAINS, SETTINGS

# train flag -> the setting it sets; every numeric flag of `train` (from the declarations, plus --lr).
TRAIN_FLAGS = {"--lr": ("train", "lr_g"), **{s.cli_flag: s.key for s in SETTINGS if s.flag and s.domain}}


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def below(low: float, integer: bool) -> str:
    return str(int(low) - 1) if integer else repr(low / 2 if low > 0 else -0.5)


@pytest.mark.parametrize("flag", sorted(TRAIN_FLAGS))
def test_every_numeric_train_flag_refuses_values_outside_its_domain_with_the_true_range(capsys, flag: str) -> None:
    dom = DOMAINS[TRAIN_FLAGS[flag]]
    high = str(int(dom.high) + 1) if dom.integer else repr(dom.high * 2 + 1)
    for value in (below(dom.low, dom.integer), high, "nan", "inf", "abc"):
        assert main(["train", flag, value]) == 2, (flag, value)
        line = error_line(capsys)
        assert f"argument {flag}:" in line and dom.range_text in line, line


def test_batch_size_1_is_refused_like_the_app_refuses_it(capsys) -> None:
    assert main(["train", "--batch-size", "1"]) == 2
    assert error_line(capsys) == ("error: argument --batch-size: Batch size must be from 2 to 4,096 (got 1); see "
                                  "'python -m gan_core train --help'.")


@pytest.mark.parametrize("command,dom", [("sample", SAMPLE_COUNT), ("eval", EVAL_COUNT)])
def test_sample_and_eval_counts_have_a_domain(tmp_path, capsys, command: str, dom: limits.Domain) -> None:
    extra = ["--out", str(tmp_path / "x.png")] if command == "sample" else []
    for value in (str(int(dom.low) - 1), "1e20", "nan"):
        assert main([command, "--checkpoint", "nowhere.pt", "--num", value, *extra]) == 2
        assert dom.range_text in error_line(capsys)


def test_a_sample_count_beyond_memory_is_refused_before_sampling(tmp_path, monkeypatch, capsys) -> None:
    run = make_run("memory", steps=4)  # 3 x 16 x 16 images: 1,000 samples need about 1.1 MB
    out = tmp_path / "s.npy"
    monkeypatch.setattr(limits, "available_memory", lambda: 1_000_000)
    assert main(["sample", "--checkpoint", str(run), "--num", "1000", "--out", str(out)]) == 2
    line = error_line(capsys)
    assert line.startswith("error: 1,000 samples of 16 x 16 pixels would need about") and "--num" in line
    assert not out.exists()
    monkeypatch.setattr(limits, "available_memory", lambda: 100_000_000)
    assert main(["sample", "--checkpoint", str(run), "--num", "1000", "--out", str(out)]) == 0


def test_a_training_batch_beyond_memory_is_refused_before_the_models_are_built(tmp_path, monkeypatch,
                                                                               capsys) -> None:
    monkeypatch.setattr(limits, "available_memory", lambda: 50_000_000)  # 16 x 16 DCGAN: batch 512 needs ~0.2 GB
    argv = ["train", "--dataset", "shapes", "--arch", "dcgan", "--image-size", "16", "--width", "8",
            "--quality-every", "0", "--device", "cpu", "--steps", "1", "--out", str(tmp_path / "run")]
    assert main([*argv, "--batch-size", "512"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the data set's progress lines
    assert re.match(r"error: Training at batch size 512 on 16 x 16 images would need about 60 MiB of memory, more "
                    r"than the 38 MiB this machine can spare: choose a smaller batch size", last), last
    assert not (tmp_path / "run").exists()
    assert main([*argv, "--batch-size", "16"]) == 0


def test_resume_refuses_a_conflicting_architecture_or_data_set_and_keeps_the_run(tmp_path, capsys) -> None:
    run = make_run("resumed", steps=4)  # an MLP on shapes, batch 16
    for flags, needle in ((["--arch", "dcgan"], "--arch mlp"), (["--dataset", "mnist"], "--dataset shapes"),
                          (["--batch-size", "32"], "--batch-size 16"), (["--n-critic", "3"], "--n-critic 1"),
                          (["--r1", "0.5"], "--r1 0")):
        assert main(["train", "--resume", str(run), "--steps", "8", *flags]) == 2
        line = error_line(capsys)
        assert f"Run 'resumed' was trained with {needle}" in line and "without --resume" in line, line
    assert load_checkpoint(find_checkpoints(run)[0])["step"] == 4  # nothing trained
    assert main(["train", "--resume", str(run), "--steps", "8", "--arch", "mlp"]) == 0  # the same arch is no conflict
    assert load_checkpoint(find_checkpoints(run)[0])["step"] == 8


def test_eval_prints_counts_as_integers(capsys) -> None:
    run = make_run("counted", steps=4, conditional=True)
    assert main(["eval", "--checkpoint", str(run), "--num", "20"]) == 0
    text = capsys.readouterr().out
    scores = json.loads(text)
    assert all(isinstance(scores[k], int) for k in ("step", "num", "coverage/classes"))
    assert not re.search(r'"(step|num|coverage/classes)": \d+\.', text)


def test_an_invalid_number_in_a_real_process_has_no_traceback(tmp_path) -> None:
    proc = subprocess.run([sys.executable, "-m", "gan_core", "train", "--lr", "nan"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == ("error: argument --lr: Learning rate must be a finite number from 1e-06 to 1 "
                                   "(got nan); see 'python -m gan_core train --help'.")
