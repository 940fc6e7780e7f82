"""Runs page: table of runs, overlaid loss curves, a run's sample timeline with GIF export, resume and delete."""

from __future__ import annotations

import streamlit as st

from workbench import charts, jobs, navigation, runs, session

DELETE_NOTE = "runs_delete_note"  # (kind, sentence): every message of the Delete tab, shown in that tab


def on_delete(name: str) -> None:
    # All in the Delete tab, next to the box and button they are about (a flash above the tabs made them reset).
    if not st.session_state.get("runs_delete_confirm"):
        st.session_state[DELETE_NOTE] = ("warning", f"Tick the box confirming that '{name}' should be deleted, then "
                                                    "press Delete again.")
        return
    try:
        runs.remove_run(name)
    except session.USER_ERRORS as e:
        st.session_state[DELETE_NOTE] = ("error", str(e))
        return
    st.session_state[DELETE_NOTE] = ("success", f"Deleted run '{name}'.")
    st.session_state["runs_delete_confirm"] = False
    st.session_state.pop("runs_selected", None)


def on_select_run() -> None:
    """Per-run widgets start from that run's own defaults."""
    for key in ("runs_resume_total", "runs_timeline_step", "runs_delete_confirm"):
        st.session_state.pop(key, None)


def timeline(run: runs.RunInfo) -> None:
    steps = runs.timeline_steps(run)
    if not steps:
        st.caption("No sample grids saved yet.")
        return
    if len(steps) > 1:
        if st.session_state.get("runs_timeline_step") not in steps:
            st.session_state["runs_timeline_step"] = steps[-1]
        step = st.select_slider("Samples at step", steps, key="runs_timeline_step")
    else:
        step = steps[0]
    st.image(runs.timeline_image(run, step), caption=f"{run.name}: fixed-noise samples at step {step:,}",
             width="content")
    gif_button(run, len(steps))


def gif_button(run: runs.RunInfo, frames: int) -> None:
    """Make the timeline GIF with a progress bar (a silent download took 17.5 s), then offer it for download."""
    made = st.session_state.get("runs_gif")
    if made is None or made[:2] != (run.name, frames):  # none yet, another run's, or grids were added since
        if not st.button("Make a GIF of the timeline", key="runs_gif_make"):
            return
        bar = st.progress(0.0, text="Making the GIF...")
        made = (run.name, frames, runs.timeline_gif(run, lambda done, what: bar.progress(done, text=what)))
        bar.empty()
        st.session_state["runs_gif"] = made
    size = len(made[2])
    st.download_button(f"Download the timeline as a GIF ({size / 1e6:.1f} MB)" if size >= 1e6 else
                       f"Download the timeline as a GIF ({size / 1e3:.0f} kB)", made[2],
                       file_name=f"{run.name}-timeline.gif", mime="image/gif", key="runs_gif_btn", on_click="ignore")


def resume(run: runs.RunInfo) -> None:
    step, total = int(run.meta.get("step") or 0), int(run.meta.get("total_steps") or 0)
    busy = runs.busy_note(run)
    if busy:
        st.caption(busy)
        return
    if not run.checkpoints:
        st.caption("No checkpoint to resume from.")
        return
    c1, c2 = st.columns([2, 1])
    session.default("runs_resume_total", total if total > step else step + 1000)
    target = c1.number_input("Train up to step (total)", step + 1, runs.MAX_STEPS, step=100, key="runs_resume_total")
    c2.write("")
    if c2.button("Resume training", key="runs_resume_btn"):
        try:
            jobs.resume_training(run, int(target))
        except session.USER_ERRORS as e:
            st.error(str(e))
        else:
            st.switch_page(navigation.TRAIN_PAGE)


def delete(run: runs.RunInfo) -> None:
    note = st.session_state.pop(DELETE_NOTE, None)
    if note:
        getattr(st, note[0])(note[1])  # st.warning, st.error or st.success
    busy = runs.busy_note(run)
    if busy:  # a training run cannot be deleted: say why, and the button stays greyed out
        st.caption(busy)
    st.checkbox(f"Yes, delete '{run.name}' with all its checkpoints and samples", key="runs_delete_confirm",
                disabled=busy is not None)
    st.button("Delete run", key="runs_delete_btn", on_click=on_delete, args=(run.name,), disabled=busy is not None)


navigation.run_inside_app()
st.title("Runs")
st.markdown(f"Every training run saved under `{runs.runs_folder()}`.")
session.show_flash()
shown_names = runs.run_names()  # read before the runs: a folder made in between is still new to the watch below


@st.fragment(run_every=runs.NEW_RUNS_SECONDS)
def watch_new_runs() -> None:
    """A run started elsewhere (the CLI) after this page was drawn: the whole page again, to list it."""
    if runs.run_names() != shown_names:
        st.rerun()


watch_new_runs()
saved = runs.runs()
if not saved:
    st.info("No runs yet: start one on the Train page, or with `python -m gan_core train`.")
    st.stop()
by_name = {r.name: r for r in saved}


polling = runs.any_training(saved)


def table() -> None:
    current = runs.runs()
    st.dataframe(runs.runs_table(current), key="runs_table", hide_index=True, column_config=runs.TABLE_FORMATS,
                 placeholder=runs.MISSING)
    if polling and not runs.any_training(current):
        st.rerun()  # training ended: the whole page once more (final statuses), and the table stops polling


# Refreshed alone while a run trains, here or in another process (their folders are read as they grow).
st.fragment(table, run_every=jobs.CHART_SECONDS if polling else None)()

st.subheader("Compare curves")
# Drop runs deleted since the last visit before the widget reads its value.
st.session_state["runs_compare"] = [n for n in st.session_state.get("runs_compare", [saved[0].name]) if n in by_name]
c1, c2, c3 = st.columns([3, 2, 1])
compare = c1.multiselect("Runs to overlay", list(by_name), key="runs_compare")
session.default("runs_metrics", list(charts.DEFAULT_CURVES))
metrics = c2.multiselect("Curves", charts.CURVE_CHOICES, key="runs_metrics")
smoothing = c3.slider("Smoothing", 0.0, 0.99, 0.6, 0.01, key="runs_smoothing")
if compare and metrics:
    histories = {name: runs.run_history(by_name[name]) for name in compare}
    if any(histories.values()):
        st.plotly_chart(charts.overlay_figure(histories, metrics, smoothing), key="runs_chart")
    else:
        st.caption("No metric history saved for these runs yet.")

st.subheader("One run")
opened = runs.take_opened()  # a Home card's run
if opened in by_name and opened != st.session_state.get("runs_selected"):
    on_select_run()
    st.session_state["runs_selected"] = opened
if st.session_state.get("runs_selected") not in by_name:
    st.session_state["runs_selected"] = saved[0].name
selected = by_name[st.selectbox("Run", list(by_name), key="runs_selected", on_change=on_select_run)]
status = runs.run_status(selected)
meta = selected.meta
step, total = runs.run_progress(selected)
st.caption(f"Status: {status} · step {step}/{total} · "
           f"{meta.get('dataset', '?')}, {meta.get('arch', '?')}, {meta.get('loss', '?')}"
           + (f" · error: {meta['error']}" if meta.get("error") else ""))
# A key and tracked state keep the open tab across reruns (the Delete tab stays open after a refused delete).
tab_timeline, tab_resume, tab_delete = st.tabs(["Sample timeline", "Resume", "Delete"], key="runs_tab",
                                               on_change="rerun")
with tab_timeline:
    timeline(selected)
with tab_resume:
    resume(selected)
with tab_delete:
    delete(selected)
