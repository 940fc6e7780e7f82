"""Atomic writes: the old file survives a failing writer, no temp file stays behind, an OSError names the path."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import torch

from gan_core.fileio import TEMP_PREFIX, save_atomic, write_atomic, write_with
from gan_core.runs.checkpoints import clean_temp_files


def test_write_replaces_the_file_and_creates_its_folder(tmp_path) -> None:
    path = tmp_path / "a" / "b" / "meta.json"
    assert write_atomic(path, b"one") == path
    write_atomic(path, b"two")
    assert path.read_bytes() == b"two"
    assert [p.name for p in path.parent.iterdir()] == ["meta.json"]


def test_a_failing_writer_leaves_the_old_file_and_no_temp_file(tmp_path) -> None:
    tmp_path = tmp_path / "out"  # its own folder: the test lists it (conftest puts data/ beside)
    tmp_path.mkdir()
    path = tmp_path / "grid.png"
    write_atomic(path, b"old")

    def half_then_fail(f) -> None:
        f.write(b"new but incomp")
        raise RuntimeError("writer crashed")

    with pytest.raises(RuntimeError, match="writer crashed"):
        write_with(path, half_then_fail)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]


def test_an_oserror_without_a_file_name_is_raised_naming_the_path(tmp_path) -> None:
    tmp_path = tmp_path / "out"  # its own folder: the test lists it (conftest puts data/ beside)
    tmp_path.mkdir()
    path = tmp_path / "ckpt.pt"

    def disk_full(f) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as e:
        write_with(path, disk_full)
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(path)
    assert str(path) in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_temp_files_sit_beside_the_target_with_the_one_prefix_and_are_cleaned_up(tmp_path) -> None:
    path = tmp_path / "run" / "ckpt-0000001.pt"
    seen: list[str] = []

    def look(f) -> None:
        seen.extend(p.name for p in path.parent.iterdir())
        torch.save({"x": torch.ones(2)}, f)

    write_with(path, look)
    assert len(seen) == 1 and seen[0].startswith(TEMP_PREFIX) and seen[0].endswith(".pt")
    # What a killed writer leaves (its temp file) is removed on the next start; real files stay.
    leftover = path.parent / seen[0]
    leftover.write_bytes(b"partial")
    assert clean_temp_files(tmp_path) == [leftover]
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_save_atomic_round_trips_with_weights_only_loading(tmp_path) -> None:
    path = save_atomic({"w": torch.arange(4.0)}, Path(tmp_path) / "stats.pt")
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.arange(4.0))


def test_only_durable_writes_fsync(tmp_path, monkeypatch) -> None:
    """durable=False (grids, heartbeats) skips the file's and the folder's fsync; the default keeps both."""
    import os

    from gan_core import fileio

    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(fileio.os, "fsync", lambda fd: calls.append(fd) or real(fd))
    write_atomic(tmp_path / "grid.png", b"x", durable=False)
    assert calls == [] and (tmp_path / "grid.png").read_bytes() == b"x"
    write_atomic(tmp_path / "meta.json", b"{}")
    assert len(calls) == 2  # the file, then its folder (the rename)
