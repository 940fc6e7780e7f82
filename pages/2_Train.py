"""Train page: pick a recipe or custom settings, start/pause/resume/stop, and a live panel polled by a fragment."""

from __future__ import annotations

import streamlit as st

from workbench import data, elsewhere, expectation, jobs, live, navigation, playground, session, train_form


# ---- callbacks: they run before the page script, so they may set widget values; messages go through flash ------------
def on_recipe_change() -> None:
    try:
        train_form.load_recipe(st.session_state[train_form.RECIPE_KEY])
    except session.USER_ERRORS as e:
        session.flash(str(e), "error")


REFUSAL_SECONDS = 15.0  # a refused Start stays on screen while the page redraws for the run that did start


def on_start() -> None:
    try:
        train_form.start_from_form()
    except session.USER_ERRORS as e:
        session.flash(str(e), "error", keep_seconds=REFUSAL_SECONDS)


def on_run_action(action: str, name: str) -> None:
    """Continue the run shown, or start a new run with its settings."""
    try:
        (jobs.continue_run if action == "continue" else jobs.start_again)(name)
    except session.USER_ERRORS as e:
        session.flash(str(e), "error")


def on_command(command: str) -> None:
    job = jobs.watched_job()
    if job is not None:
        getattr(job, command)()


# ---- the form --------------------------------------------------------------------------------------------------------
def settings_form(conditional_possible: bool, errors: dict[str, str]) -> None:
    def number(col, key: str) -> None:  # col: a Streamlit column
        train_form.number_field(col, key, errors)

    choice = train_form.choice_field  # labels and help from gan_core.settings
    c1, c2, c3, c4 = st.columns(4)
    choice(c1, "train_arch")
    choice(c2, "train_loss")
    number(c3, "train_width")
    choice(c4, "train_conditional", disabled=not conditional_possible)
    c1, c2, c3, c4 = st.columns(4)
    for col, key in zip((c1, c2, c3, c4), ("train_latent_dim", "train_batch_size", "train_lr_g", "train_lr_d")):
        number(col, key)
    c1, c2, c3, c4 = st.columns(4)
    number(c1, "train_beta1")
    number(c2, "train_beta2")
    length = c3.radio("Train for", train_form.LENGTHS, key=train_form.LENGTH_KEY, horizontal=True,
                      persist_state="session")
    number(c4, "train_steps" if length == "Steps" else "train_epochs")
    c1, c2, c3, c4 = st.columns(4)
    for col, key in zip((c1, c2, c3, c4), ("train_real_label", "train_fake_label", "train_n_critic", "train_ema")):
        number(col, key)
    c1, c2 = st.columns([1, 3])
    devices = train_form.device_choices()
    if st.session_state.get("train_device") not in devices.usable:  # e.g. a restored "cuda" on a machine without one
        st.session_state["train_device"] = "auto"
    device = train_form.DECLARED["train_device"]
    c1.selectbox(device.label, devices.usable, key="train_device", persist_state="session",
                 help=f"{device.help_text} Found: {jobs.device_line()}")
    if devices.unusable:
        c1.caption(devices.unusable)
    c2.text_input("Run name (its folder under checkpoints/)", key=train_form.RUN_NAME_KEY, persist_state="session")
    with st.expander("Advanced"):
        c1, c2, c3, c4 = st.columns(4, vertical_alignment="bottom")  # the checkbox level with the inputs' boxes
        for col, key in zip((c1, c2, c3), ("train_seed", "train_sample_every", "train_checkpoint_every")):
            number(col, key)
        choice(c4, "train_amp")
        c1, c2, c3, c4 = st.columns(4, vertical_alignment="bottom")  # D options (boxes level below 2-line labels)
        number(c1, "train_pack")
        number(c2, "train_mbstd")
        number(c3, "train_d_width")
        choice(c4, "train_d_norm")
        c1, c2, c3, c4 = st.columns(4)
        choice(c1, "train_lr_schedule")
        number(c2, "train_r1")
        number(c3, "train_gp_lambda")
        number(c4, "train_class_weight")
        c1, c2, c3, _ = st.columns(4)
        choice(c1, "train_augment", format_func=lambda v: v.replace(",", ", ") or "none")
        number(c2, "train_feature_matching")
        number(c3, "train_cluster_balance")


def controls(snap: live.JobSnapshot | None, startable: bool) -> None:
    status = snap.status if snap is not None else None
    training = snap is not None and snap.active
    c1, c2, c3, c4 = st.columns(4)
    # Enabled while another run trains: the registry refuses with a message (another tab may have started it), but not
    # highlighted then; disabled while the form holds a value it cannot use.
    c1.button("Start", key="train_start_btn", type="secondary" if training else "primary", on_click=on_start,
              width="stretch", disabled=not startable,
              help=None if startable else "Fix the settings marked in red first.")
    c2.button("Pause", key="train_pause_btn", on_click=on_command, args=("pause",), disabled=status != "running",
              width="stretch")
    c3.button("Resume", key="train_resume_btn", on_click=on_command, args=("resume",), disabled=status != "paused",
              width="stretch")
    c4.button("Stop", key="train_stop_btn", on_click=on_command, args=("stop",),
              disabled=snap is None or not snap.active, width="stretch")


# ---- the live panel --------------------------------------------------------------------------------------------------
def draw_snapshot(snap: live.JobSnapshot) -> None:
    st.markdown(f"**{live.status_line(snap)}**")
    if snap.status == "loading":
        st.progress(0.0, text=snap.message or "Loading the data set...")
    else:
        total = max(snap.total_steps, 1)
        st.progress(min(snap.step / total, 1.0),
                    text=f"Step {snap.step:,} / {snap.total_steps:,} · epoch {snap.epoch:.2f}")
        st.markdown(live.speed_line(snap))
    if snap.status == "failed":
        st.error(snap.error or "Training failed.")
    elif snap.error:  # a finished run whose last save failed (disk full, non-finite weights)
        st.warning(snap.error)
    if snap.status in live.ENDED:
        st.success(live.ended_line(snap))
    elif snap.status == "stopping":  # acknowledged at once, while the thread finishes its step or its loading
        st.info("Stopping: the run ends after the current step (or its loading) and saves a checkpoint.")
    if snap.message and snap.status != "loading":
        st.caption(snap.message)
    for alert in snap.alerts[-5:]:
        st.warning(f"Step {alert.get('step', '?')}: {alert.get('message', '')}")
    for line in (live.recognition_line(snap), live.fidelity_line(snap), live.copies_line(snap)):
        if line:
            st.markdown(line)
    pairs = live.copies_png(snap)
    if pairs is not None:
        st.image(pairs, width="stretch", caption="Likely copies: each sample (left) beside its nearest training image")
    if live.has_grid(snap):
        st.image(live.grid_png(snap), width="stretch", caption=f"Fixed-noise samples at step {snap.grid_step:,}")
    else:
        st.caption("Samples appear after the first step.")


def draw_charts(snap: live.JobSnapshot) -> None:
    smoothing = st.slider("Curve smoothing (EMA)", 0.0, 0.99, 0.6, 0.01, key="train_smoothing",
                          persist_state="session")
    charts = live.train_charts(snap, smoothing)
    cols = st.columns(2)
    cols[0].plotly_chart(charts["losses"], key="train_chart_losses")
    cols[1].plotly_chart(charts["probs"], key="train_chart_probs")
    if "quality" in charts:  # next to the losses, below them
        st.markdown("**Quality scores** (latest, with the change since the previous score)")
        scores = live.readings(snap)
        for row in range(0, len(scores), 3):
            for col, r in zip(st.columns(3), scores[row: row + 3], strict=False):
                col.metric(r.label, r.value, r.delta, delta_color=r.delta_color, delta_arrow=r.delta_arrow,
                           help=f"{'Lower' if r.lower_is_better else 'Higher'} is better.")
        st.plotly_chart(charts["quality"], key="train_chart_quality")


def expectation_line(cfg: expectation.RunConfig) -> None:
    """How long the recipe needs here to draw recognisable samples; polls while a speed probe measures."""
    training = jobs.job_registry().active() is not None
    probing = expectation.expectation(cfg, training)[1]

    def draw() -> None:
        line, now_probing = expectation.expectation(cfg, training)
        if now_probing != probing:
            st.rerun()  # the probe finished: draw the line once more and stop polling
        if line:
            st.markdown(line)

    st.fragment(draw, run_every=expectation.POLL_SECONDS if probing else None)()


def own_snapshot() -> live.JobSnapshot | None:
    job = jobs.watched_job()
    return job.snapshot() if job is not None else None


def live_panel(first: live.JobSnapshot, latest: live.SnapshotSource) -> None:
    """Drawn in the full run with `first`, then redrawn alone with latest() while the run is active: the status,
    progress and grid every POLL_SECONDS, the charts every CHART_SECONDS (they change once per logged step and cost
    the most)."""
    state = {"panel": True, "charts": True}

    def current(part: str) -> live.JobSnapshot:
        if state[part]:  # the full run draws the snapshot it was given
            state[part] = False
            return first
        return latest() or first

    def panel() -> None:
        snap = current("panel")
        if snap.status != first.status or snap.run_name != first.run_name:
            st.rerun()  # buttons and polling depend on the status: redraw the whole page
        draw_snapshot(snap)

    def charts() -> None:
        draw_charts(current("charts"))

    active = first.active
    left, right = st.columns(2)
    with left:
        st.fragment(panel, run_every=jobs.POLL_SECONDS if active else None)()
    with right:
        st.fragment(charts, run_every=jobs.CHART_SECONDS if active else None)()


navigation.run_inside_app()
st.title("Train")
session.show_flash()
chosen = data.chosen_data()
try:  # a new data set choice resets the form to that set's default recipe (the Data page's choice carries over)
    train_form.follow_data_choice(chosen)
except session.USER_ERRORS as e:
    st.error(str(e))

st.selectbox("Recipe", train_form.recipe_names(), key=train_form.RECIPE_KEY, on_change=on_recipe_change,
             persist_state="session", format_func=train_form.recipe_label)
recipe = st.session_state[train_form.RECIPE_KEY]
custom = recipe == train_form.CUSTOM
form = train_form.read_form()  # parsed once per rerun
base, config, errors = form.base, form.config, form.errors
if form.problem:
    st.error(form.problem)
note = train_form.recipe_note(recipe, chosen)
if base is not None:
    present, line = train_form.recipe_data_line(base)
    (st.caption if present and not note else st.warning)(
        line + (f" {note}" if note else "") + " (Choose the data set on the Data page.)")
else:
    st.caption(f"Data set: {data.dataset_summary(chosen)} (choose it on the Data page).")
if config is not None:
    st.caption(train_form.model_summary(config))
    changed = train_form.changed_settings(base, config)
    if changed:
        st.caption(f"Changed from {'the recipe' if not custom else 'where Custom started'}: " + "; ".join(changed)
                   + ".")
with st.expander("Settings", expanded=custom or bool(errors)):
    settings_form(conditional_possible=train_form.conditional_possible(chosen), errors=errors)
if errors:
    st.error("Start is off until these settings are fixed: " + " ".join(errors.values()))

train_form.remember()  # the recipe and settings as shown, for the next session
snapshot = own_snapshot()
if config is not None and (snapshot is None or not snapshot.active):
    expectation_line(config)
controls(snapshot, startable=config is not None)  # commands reach this app's own run only
shown, latest = snapshot, own_snapshot
options = elsewhere.choices(snapshot)  # none while this app trains
if len(options) > (snapshot is not None):  # runs training elsewhere: one can be shown live
    picked = st.selectbox("Show the run", options, key=elsewhere.WATCH_KEY,
                          help="Runs trained by another process (the command line, torchrun, another app) into this "
                               "app's checkpoints folder are shown live, as their files grow.")
    if snapshot is None or picked != snapshot.run_name:
        latest = elsewhere.follow(picked)
        shown = latest()
if shown is None:  # a reload forgets the session's run: show the newest run on disk, as it ended
    last = jobs.last_run_name()
    if last is not None:
        latest = elsewhere.follow(last)
        shown = latest()
if shown is None:
    st.info(("No run yet: fix the settings in red, then press **Start**." if errors else "No run yet: press **Start**.")
            + " Training goes on when you change page or close the tab.")
else:
    live_panel(shown, latest)
    if shown.status in live.ENDED and not shown.elsewhere and shown.checkpoint:
        c1, c2, _ = st.columns([1, 1, 2])
        c1.button("Continue", key="train_continue_btn", on_click=on_run_action, args=("continue", shown.run_name),
                  width="stretch", help="Train this run further in its own folder, from its last checkpoint.")
        c2.button("Start again from this run", key="train_again_btn", on_click=on_run_action,
                  args=("again", shown.run_name), width="stretch",
                  help="A new run with this run's settings, in a new folder.")
    if playground.is_points(shown):  # 2-D point sets: the playground, with step mode for this app's own run
        playground.panel(jobs.watched_job() if shown is snapshot else None, shown, latest)
