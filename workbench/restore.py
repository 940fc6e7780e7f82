"""At the start of a browser session, the choices of the last one (prefs.py): data set, recipe and settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import streamlit as st

from gan_core.config import DataConfig
from gan_core.data import data_root
from gan_core.errors import UserError
from workbench import prefs, session, train_form
from workbench.data import DATA_KEY, chosen_data, config_key, dataset_summary

RESTORED_KEY = "prefs_restored"  # set once per session: later runs keep what the user does in it


def restore_choices() -> None:
    """Restore once per session; a choice that cannot be restored says so (a flash on the page shown first)."""
    if st.session_state.get(RESTORED_KEY):
        return
    st.session_state[RESTORED_KEY] = True
    saved = prefs.load()
    if DATA_KEY not in st.session_state and saved.get("data") is not None:
        restore_data(saved["data"])
    form = saved.get("form")
    if (train_form.RECIPE_KEY not in st.session_state and isinstance(form, dict)
            and form.get("data_key") == config_key(chosen_data())):  # the form left for this data choice
        if not train_form.restore_form(form):
            session.flash(f"The recipe chosen last time ({form.get('recipe')}) could not be restored: the form "
                          "starts from the data set's default recipe.", "warning")


def restore_data(values: Any) -> None:
    try:
        cfg = DataConfig(**values)
        cfg.validate()
    except (TypeError, UserError):
        session.flash("The data set chosen last time could not be restored (its settings are no longer valid): "
                      "choose it again on the Data page.", "warning")
        return
    if cfg.data_dir and not Path(cfg.data_dir).expanduser().exists():
        uploads = data_root() / "uploads"
        gone = ("its uploaded images are gone" if Path(cfg.data_dir).is_relative_to(uploads)
                else f"its folder {cfg.data_dir} is gone")
        session.flash(f"The data set chosen last time ({cfg.name}) could not be restored: {gone}. Choose it again "
                      "on the Data page.", "warning")
        return
    st.session_state[DATA_KEY] = dataclasses.asdict(cfg)
    session.flash(f"Restored the data set chosen last time: {dataset_summary(cfg)}.", "info")
