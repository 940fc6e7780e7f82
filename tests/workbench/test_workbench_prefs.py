"""workbench.prefs: remembered choices written atomically, only when changed, and never a crash when they cannot be."""

from __future__ import annotations

import json

from workbench import prefs


def test_remember_writes_each_section_once_and_load_reads_it_back() -> None:
    assert prefs.load() == {}
    prefs.remember("data", {"name": "mnist"})
    prefs.remember("form", {"recipe": "mnist-default"})
    assert prefs.load() == {"data": {"name": "mnist"}, "form": {"recipe": "mnist-default"}}
    mtime = prefs.prefs_path().stat().st_mtime_ns
    prefs.remember("data", {"name": "mnist"})  # unchanged: not rewritten
    assert prefs.prefs_path().stat().st_mtime_ns == mtime
    assert not [p for p in prefs.prefs_path().parent.iterdir() if p.name.startswith(".tmp-")]  # atomic, no leftovers


def test_an_unwritable_folder_or_a_broken_file_is_no_crash(monkeypatch, tmp_path) -> None:
    prefs.prefs_path().parent.mkdir(parents=True, exist_ok=True)
    prefs.prefs_path().write_text(json.dumps([1, 2]))  # valid JSON, wrong shape
    assert prefs.load() == {}

    def full_disk(path, data):  # write_atomic's signature
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(prefs, "write_atomic", full_disk)
    prefs.remember("data", {"name": "shapes"})  # logged, not raised
    assert prefs.load() == {}
