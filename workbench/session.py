"""Per-session state shared by the pages: widget defaults, flash messages, and the errors pages show as messages."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from gan_core.errors import UserError

FLASH_KEY = "flash"  # messages set in callbacks, shown once on the next run of a page
KEPT_KEY = "flash_kept"  # messages shown on every run until their time is up: [(kind, message, until)]
# What a page catches and shows as its sentence (bad settings, missing data, a bad checkpoint, a full disk):
# anything else is a bug and keeps its traceback.
USER_ERRORS = (UserError,)


def default(key: str, value: Any) -> Any:
    """Give a widget key its first value; widgets then take it from session state (no value= clash on reruns)."""
    return st.session_state.setdefault(key, value)


def flash(message: str, kind: str = "info", keep_seconds: float = 0.0) -> None:
    """Queue a message (kind: info, success, warning, error) for show_flash on the next run of a page; with
    keep_seconds it stays for that long, so a rerun the page makes by itself (a run's status changed) keeps it."""
    if keep_seconds > 0:
        st.session_state.setdefault(KEPT_KEY, []).append((kind, message, time.monotonic() + keep_seconds))
    else:
        st.session_state.setdefault(FLASH_KEY, []).append((kind, message))


def show_flash() -> None:
    """Messages left by button callbacks (which run before the page and cannot draw themselves)."""
    for kind, message in st.session_state.pop(FLASH_KEY, []):
        getattr(st, kind)(message)
    now = time.monotonic()
    kept = [(kind, message, until) for kind, message, until in st.session_state.get(KEPT_KEY, []) if until > now]
    st.session_state[KEPT_KEY] = kept
    for kind, message, _ in kept:
        getattr(st, kind)(message)
