"""Choices remembered across reloads and restarts, in one small JSON file in the data folder (written atomically)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from gan_core.data import data_root
from gan_core.fileio import write_atomic

PREFS_FILE = "workbench-settings.json"  # {"data": DataConfig dict, "form": the Train form (see restore.py)}
log = logging.getLogger(__name__)


def prefs_path() -> Path:
    return data_root() / PREFS_FILE


def load() -> dict[str, Any]:
    """The remembered choices; {} when none were saved or the file is unreadable (then nothing is restored)."""
    try:
        saved = json.loads(prefs_path().read_text())
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


def remember(section: str, value: Any) -> None:
    """Store value under section; written only when it changed. Best effort: a read-only or full disk only means
    the choice is not remembered, which must not take a page down."""
    saved = load()
    if saved.get(section) == value:
        return
    saved[section] = value
    try:
        write_atomic(prefs_path(), json.dumps(saved, indent=1, sort_keys=True).encode())
    except OSError as e:
        log.warning("could not remember the %s choice in %s: %s", section, prefs_path(), e)
