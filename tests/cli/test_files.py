"""The CLI and run folders (issue #20, items 3 and 4): a folder holding another run is refused, and every file
error is one sentence with exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, make_run

from gan_core.cli import main
from gan_core.errors import TrainingError
from gan_core.runs.checkpoints import find_checkpoints, load_checkpoint

TINY = ["--dataset", "shapes", "--arch", "mlp", "--image-size", "16", "--batch-size", "16", "--latent-dim", "8",
        "--sample-every", "5", "--checkpoint-every", "10", "--quality-every", "0", "--device", "cpu"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_train_into_a_folder_holding_another_run_is_refused_and_loses_nothing(capsys) -> None:
    old = make_run("finished", steps=10)
    before = snapshot(old)
    assert main(["train", *TINY, "--arch", "dcgan", "--steps", "5", "--out", str(old)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1] == (f"error: {old} already holds a run (mlp, step 10): continue it with --resume {old}, or "
                         "choose another --out folder."), lines
    assert snapshot(old) == before  # nothing of the old run changed: checkpoints, grids, metrics.jsonl, events

    other = make_run("other", steps=10)  # a resume from one run into another's folder is refused too
    assert main(["train", "--resume", str(other), "--steps", "20", "--out", str(old)]) == 2
    assert "already holds a run" in capsys.readouterr().err and snapshot(old) == before
    assert main(["train", "--resume", str(old), "--steps", "20"]) == 0  # its own folder: continued, as asked
    assert load_checkpoint(find_checkpoints(old)[0])["step"] == 20


def test_an_empty_existing_folder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["train", *TINY, "--steps", "5", "--out", str(tmp_path / "empty")]) == 0


def test_export_and_sample_to_a_folder_that_cannot_be_made_exit_2_with_one_sentence(tmp_path: Path) -> None:
    run = make_run("exported", steps=5)
    blocker = tmp_path / "notes.txt"  # a file where the folder would go: it cannot be created (root included)
    blocker.write_text("a file, not a folder")
    for argv in (["export", "--checkpoint", str(run), "--format", "onnx", "--out", str(blocker / "sub/g.onnx")],
                 ["sample", "--checkpoint", str(run), "--num", "4", "--out", str(blocker / "sub/s.png")]):
        proc = subprocess.run([sys.executable, "-m", "gan_core", *argv], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert proc.stderr.startswith("error: Could not use ") and (
            "a part of the path is a file, not a folder." in proc.stderr), proc.stderr


def test_a_checkpoint_save_refused_by_a_quota_or_permissions_is_one_sentence(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from gan_core.runs import checkpoints

    for code, words in ((errno.EDQUOT, "the disk quota is used up"), (errno.EACCES, "permission is denied"),
                        (errno.EROFS, "the disk is read-only")):
        def refuse(obj: object, path: Path, code: int = code) -> None:
            raise OSError(code, os.strerror(code), str(path))

        monkeypatch.setattr(checkpoints, "save_atomic", refuse)
        with pytest.raises(TrainingError) as e:
            checkpoints.save_checkpoint({}, tmp_path / "ckpt.pt")
        assert str(e.value).startswith(f"Could not save checkpoint {tmp_path / 'ckpt.pt'}: {words}.")
        assert os.strerror(code) not in str(e.value) and "Errno" not in str(e.value)
