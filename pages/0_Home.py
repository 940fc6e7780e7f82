"""Home page: what the app does, the device, one button that trains the default, and the recent runs."""

from __future__ import annotations

import streamlit as st

from workbench import jobs, navigation, runs, session


def recent_runs() -> None:
    """The newest six runs with their latest fixed-noise grid; each card opens its run on the Runs page."""
    recent = runs.runs()[:6]
    if not recent:
        st.info(f"No runs yet in {runs.runs_folder()}: press the button above, or choose data on the Data page.")
        return
    cols = st.columns(3)
    for i, run in enumerate(recent):
        with cols[i % 3].container(border=True):
            state = runs.run_state(run)
            status, step, total = state.label, state.step, state.total_steps
            grid = runs.card_grid(run)
            if grid is not None:
                st.image(str(grid), caption=f"{run.name} — {status}, step {step}/{total}", width="stretch")
            else:
                st.markdown(f"**{run.name}**  \n{status} at step {step}/{total}, before its first samples")
            if st.button("Open in Runs", key=f"home_open_{run.name}", icon=":material/open_in_new:"):
                runs.open_in_runs(run.name)
                st.switch_page(navigation.RUNS_PAGE)


navigation.run_inside_app()
st.title("GAN Workbench")
st.markdown(
    "Train generative adversarial networks on small image sets (synthetic shapes, MNIST, CIFAR-10, faces or "
    "your own pictures) and watch them learn live. Then explore what each trained generator can draw: "
    "walk its latent space, interpolate between seeds and compare runs."
)
st.caption(f"Device found: {jobs.device_line()}")

session.show_flash()
if st.button("Train the default GAN on shapes", key="home_quick_start_btn", type="primary",
             help="Synthetic triangles, squares and circles (no download) with the shapes-default recipe."):
    try:
        jobs.quick_start()
    except session.USER_ERRORS as e:
        st.error(str(e))
    else:
        st.switch_page(navigation.TRAIN_PAGE)

st.subheader("Recent runs")
recent_runs()
