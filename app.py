"""GAN Workbench entry point (`streamlit run app.py`): navigation and the shared sidebar."""

from __future__ import annotations

import streamlit as st

from workbench import elsewhere, jobs, navigation, restore


def sidebar() -> None:
    """Shown on every page: what is training right now, so training in the background is never a surprise."""
    job = jobs.job_registry().active()
    snap = job.snapshot() if job is not None else None
    elsewhere_now = elsewhere.training_elsewhere()  # CLI or torchrun runs writing into this app's checkpoints
    with st.sidebar:
        if snap is not None and snap.active:  # not a run that has just stopped while its thread winds down
            # No step count: the sidebar is drawn on full reruns only, so it would lag the Train page's live panel.
            st.caption(f"Training now: **{snap.run_name}** ({snap.status})")
        for name, where in elsewhere_now:
            st.caption(f"Training elsewhere: **{name}** ({where})")
        if not (snap is not None and snap.active) and not elsewhere_now:
            st.caption("No training running.")


pages = [
    st.Page(navigation.HOME_PAGE, title="Home", icon=":material/home:", default=True),
    st.Page(navigation.DATA_PAGE, title="Data", icon=":material/photo_library:"),
    st.Page(navigation.TRAIN_PAGE, title="Train", icon=":material/model_training:"),
    st.Page(navigation.EXPLORE_PAGE, title="Explore", icon=":material/explore:"),
    st.Page(navigation.RUNS_PAGE, title="Runs", icon=":material/history:"),
]
st.set_page_config(page_title="GAN Workbench", layout="wide")
current = st.navigation(pages)
st.session_state[navigation.ENTERED_KEY] = True
restore.restore_choices()  # once per session: the last session's data set, recipe and settings
sidebar()
current.run()
