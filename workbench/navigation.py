"""The app's page files, and the one workaround that keeps every page run inside app.py's navigation."""

from __future__ import annotations

import streamlit as st

HOME_PAGE = "pages/0_Home.py"
DATA_PAGE = "pages/1_Data.py"
TRAIN_PAGE = "pages/2_Train.py"
EXPLORE_PAGE = "pages/3_Explore.py"
RUNS_PAGE = "pages/4_Runs.py"
ENTERED_KEY = "entered_via_app"  # set by app.py: this session's runs go through its navigation


def run_inside_app() -> None:
    """Called first by every page file: make sure the page runs inside app.py's navigation.

    Streamlit (checked up to 1.67) has no supported switch for this: a server whose main script has a pages/ folder
    beside it starts in the old multipage mode (PagesManager.uses_pages_directory, set when its first session starts)
    and leaves it only when some session runs st.navigation. Until then a requested page file runs alone: a fresh
    server whose first visitor opens /Train (a bookmark, a reload) would show every session pages without Home,
    sidebar or wide layout. Turning that mode off and rerunning sends this and every later run through app.py. A
    session that came through app.py never needs the rerun (AppTest runs pages that way after its first run, and a
    rerun would drop the click it is testing). tests/workbench/test_workbench_navigation.py fails when Streamlit changes
    this.
    """
    from streamlit.runtime.pages_manager import PagesManager  # internal: the flag st.navigation itself clears

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if not st.session_state.get(ENTERED_KEY):
            st.rerun()
