"""Runs page: table of runs, overlaid loss curves, a run's sample timeline with GIF export, resume and delete."""

from __future__ import annotations

import streamlit as st
from PIL import Image

import app_charts
import app_state

CURVES = [*app_charts.LOSS_KEYS, *app_charts.PROB_KEYS, "grad/D", "grad/G", "quality"]


def on_delete(name: str) -> None:
    if not st.session_state.get("runs_delete_confirm"):
        app_state.flash(f"Tick the box confirming that '{name}' should be deleted, then press Delete again.", "warning")
        return
    try:
        app_state.remove_run(name)
    except app_state.UserError as e:
        app_state.flash(str(e), "error")
        return
    app_state.flash(f"Deleted run '{name}'.", "success")
    st.session_state["runs_delete_confirm"] = False
    st.session_state.pop("runs_selected", None)


def on_select_run() -> None:
    """Per-run widgets start from that run's own defaults."""
    for key in ("runs_resume_total", "runs_timeline_step", "runs_delete_confirm"):
        st.session_state.pop(key, None)


def step_of(path: object) -> int:
    return int(str(getattr(path, "stem", path)).split("-")[-1])


def open_rgb(path: object) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def timeline(run: app_state.RunInfo) -> None:
    grids = run.grids
    if not grids:
        st.caption("No sample grids saved yet.")
        return
    steps = [step_of(p) for p in grids]
    if len(grids) > 1:
        if st.session_state.get("runs_timeline_step") not in steps:
            st.session_state["runs_timeline_step"] = steps[-1]
        step = st.select_slider("Samples at step", steps, key="runs_timeline_step")
    else:
        step = steps[0]
    path = grids[steps.index(step)]
    st.image(app_state.upscale(open_rgb(path), 384), caption=f"{run.name}: fixed-noise samples at step {step:,}",
             width="content")
    # A callable: the GIF is only made when the button is pressed (deferred download).
    st.download_button("Download the timeline as a GIF", lambda: app_state.timeline_gif(run),
                       file_name=f"{run.name}-timeline.gif", mime="image/gif", key="runs_gif_btn", on_click="ignore")


def resume(run: app_state.RunInfo, status: str) -> None:
    step, total = int(run.meta.get("step") or 0), int(run.meta.get("total_steps") or 0)
    if status in ("loading", "running", "paused", "stopping"):
        st.caption("This run is training: control it on the Train page.")
        return
    if not run.checkpoints:
        st.caption("No checkpoint to resume from.")
        return
    c1, c2 = st.columns([2, 1])
    app_state.default("runs_resume_total", total if total > step else step + 1000)
    target = c1.number_input("Train up to step (total)", step + 1, 10_000_000, step=100, key="runs_resume_total")
    c2.write("")
    if c2.button("Resume training", key="runs_resume_btn"):
        try:
            app_state.resume_training(run, int(target))
        except app_state.UserError as e:
            st.error(str(e))
        else:
            st.switch_page("pages/2_Train.py")


def delete(run: app_state.RunInfo) -> None:
    st.checkbox(f"Yes, delete '{run.name}' with all its checkpoints and samples", key="runs_delete_confirm")
    st.button("Delete run", key="runs_delete_btn", on_click=on_delete, args=(run.name,))


app_state.run_inside_app()
st.title("Runs")
st.markdown(f"Every training run saved under `{app_state.runs_folder()}`.")
app_state.show_flash()
runs = app_state.runs()
if not runs:
    st.info("No runs yet: start one on the Train page.")
    st.stop()
by_name = {r.name: r for r in runs}
st.dataframe(app_state.runs_table(runs), key="runs_table", hide_index=True,
             column_config={"loss/D": st.column_config.NumberColumn(format="%.3f"),
                            "loss/G": st.column_config.NumberColumn(format="%.3f"),
                            "quality": st.column_config.NumberColumn(format="%.3f")})

st.subheader("Compare curves")
# Drop runs deleted since the last visit before the widget reads its value.
st.session_state["runs_compare"] = [n for n in st.session_state.get("runs_compare", [runs[0].name]) if n in by_name]
c1, c2, c3 = st.columns([3, 2, 1])
compare = c1.multiselect("Runs to overlay", list(by_name), key="runs_compare")
app_state.default("runs_metrics", list(app_charts.LOSS_KEYS))
metrics = c2.multiselect("Curves", CURVES, key="runs_metrics")
smoothing = c3.slider("Smoothing", 0.0, 0.99, 0.6, 0.01, key="runs_smoothing")
if compare and metrics:
    histories = {name: app_state.run_history(by_name[name]) for name in compare}
    if any(histories.values()):
        st.plotly_chart(app_charts.overlay_figure(histories, metrics, smoothing), key="runs_chart")
    else:
        st.caption("No metric history saved for these runs yet.")

st.subheader("One run")
if st.session_state.get("runs_selected") not in by_name:
    st.session_state["runs_selected"] = runs[0].name
selected = by_name[st.selectbox("Run", list(by_name), key="runs_selected", on_change=on_select_run)]
status = app_state.run_status(selected)
meta = selected.meta
st.caption(f"Status: {status} · step {meta.get('step', '?')}/{meta.get('total_steps', '?')} · "
           f"{meta.get('dataset', '?')}, {meta.get('arch', '?')}, {meta.get('loss', '?')}"
           + (f" · error: {meta['error']}" if meta.get("error") else ""))
tab_timeline, tab_resume, tab_delete = st.tabs(["Sample timeline", "Resume", "Delete"])
with tab_timeline:
    timeline(selected)
with tab_resume:
    resume(selected, status)
with tab_delete:
    delete(selected)
