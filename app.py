"""GAN Workbench entry point (`streamlit run app.py`): navigation, the shared sidebar and the Home page."""

from __future__ import annotations

import gan_core  # noqa: F401 - first: it sets OpenMP's passive waiting before torch is loaded
import streamlit as st

import app_state

TRAIN_PAGE = "pages/2_Train.py"


def home() -> None:
    """What the app does, the device, one button that trains the default, and the recent runs."""
    st.title("GAN Workbench")
    st.markdown(
        "Train generative adversarial networks on small image sets (synthetic shapes, MNIST, CIFAR-10, faces or "
        "your own pictures) and watch them learn live. Then explore what each trained generator can draw: "
        "walk its latent space, interpolate between seeds and compare runs."
    )
    st.caption(f"Device found: {app_state.device_line()}")

    app_state.show_flash()
    if st.button("Train the default GAN on shapes", key="home_quick_start_btn", type="primary",
                 help="Synthetic triangles, squares and circles (no download) with the shapes-default recipe."):
        try:
            app_state.quick_start()
        except app_state.UserError as e:
            st.error(str(e))
        else:
            st.switch_page(TRAIN_PAGE)

    st.subheader("Recent runs")
    recent = app_state.runs()[:6]
    if not recent:
        st.info(f"No runs yet in {app_state.runs_folder()}: press the button above, or choose data on the Data page.")
        return
    cols = st.columns(3)
    for i, run in enumerate(recent):
        with cols[i % 3]:
            status = app_state.run_status(run)
            step, total = run.meta.get("step", "?"), run.meta.get("total_steps", "?")
            caption = f"{run.name} — {status}, step {step}/{total}"
            grids = run.grids
            if grids:
                st.image(str(grids[-1]), caption=caption, width="stretch")
            else:
                st.markdown(f"**{run.name}**  \n{status}, no samples yet")


def sidebar() -> None:
    """Shown on every page: what is training right now, so training in the background is never a surprise."""
    job = app_state.job_registry().active()
    snap = job.snapshot() if job is not None else None
    with st.sidebar:
        if snap is not None and snap.active:  # not a run that has just stopped while its thread winds down
            # No step count: the sidebar is drawn on full reruns only, so it would lag the Train page's live panel.
            st.caption(f"Training now: **{snap.run_name}** ({snap.status})")
        else:
            st.caption("No training running.")


pages = [
    st.Page(home, title="Home", icon=":material/home:", default=True),
    st.Page("pages/1_Data.py", title="Data", icon=":material/photo_library:"),
    st.Page(TRAIN_PAGE, title="Train", icon=":material/model_training:"),
    st.Page("pages/3_Explore.py", title="Explore", icon=":material/explore:"),
    st.Page("pages/4_Runs.py", title="Runs", icon=":material/history:"),
]
st.set_page_config(page_title="GAN Workbench", layout="wide")
navigation = st.navigation(pages)
st.session_state[app_state.ENTERED_KEY] = True
sidebar()
navigation.run()
