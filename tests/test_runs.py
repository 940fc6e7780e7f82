"""Run folders: grid files are named and read back in one place, and listed in step order."""

from __future__ import annotations

from pathlib import Path

import pytest

from gan_core.runs import GRID_DIR, RunInfo, grid_path, grid_step


@pytest.mark.parametrize("step", [0, 1, 1234, 9_999_999, 12_345_678])
def test_a_grid_file_name_gives_back_its_step(tmp_path: Path, step: int) -> None:
    path = grid_path(tmp_path, step)
    assert path.parent == tmp_path / GRID_DIR and path.suffix == ".png"
    assert grid_step(path) == step and grid_step(str(path)) == step


@pytest.mark.parametrize("name", ["step-.png", "step-12.jpg", "step-1x.png", "notes.png", ".tmp-step-5.png"])
def test_other_file_names_have_no_step(name: str) -> None:
    assert grid_step(Path("grids") / name) is None


def test_grids_are_listed_by_step_number_without_stray_files(tmp_path: Path) -> None:
    steps = [5, 10_000_000, 200, 1]  # past 9,999,999 the zero-padded names no longer sort by step
    for step in steps:
        grid_path(tmp_path, step).parent.mkdir(exist_ok=True)
        grid_path(tmp_path, step).write_bytes(b"")
    (tmp_path / GRID_DIR / "cover.png").write_bytes(b"")
    grids = RunInfo(tmp_path.name, tmp_path).grids
    assert [grid_step(p) for p in grids] == sorted(steps)
