"""Train page: pick a recipe or custom settings, start/pause/resume/stop, and a live panel polled by a fragment."""

from __future__ import annotations

import streamlit as st

from workbench import data, jobs, live, navigation, session, train_form


# ---- callbacks: they run before the page script, so they may set widget values; messages go through flash ------------
def on_recipe_change() -> None:
    try:
        train_form.load_recipe(st.session_state[train_form.RECIPE_KEY])
    except session.USER_ERRORS as e:
        session.flash(str(e), "error")


def on_start() -> None:
    try:
        train_form.start_from_form()
    except session.USER_ERRORS as e:
        session.flash(str(e), "error")


def on_command(command: str) -> None:
    job = jobs.watched_job()
    if job is not None:
        getattr(job, command)()


# ---- the form --------------------------------------------------------------------------------------------------------
def settings_form(custom: bool, conditional_possible: bool) -> None:
    if custom:
        c1, c2, c3, c4 = st.columns(4)
        c1.selectbox("Architecture", train_form.ARCH_CHOICES, key="train_arch", persist_state="session",
                     help=train_form.ARCH_HELP)
        c2.selectbox("Loss", train_form.LOSS_CHOICES, key="train_loss", persist_state="session",
                     help="bce: non-saturating GAN loss; wgan-gp: Wasserstein + gradient penalty; hinge; lsgan.")
        c3.number_input("Width (base features)", 4, 512, step=8, key="train_width", persist_state="session")
        c4.checkbox("Conditional on classes", key="train_conditional", persist_state="session",
                    disabled=not conditional_possible, help="Needs a labeled data set (shapes, MNIST, CIFAR-10).")
    c1, c2, c3, c4 = st.columns(4)
    c1.number_input("Latent size", 2, 1024, step=8, key="train_latent_dim", persist_state="session")
    c2.number_input("Batch size", 2, 4096, step=16, key="train_batch_size", persist_state="session")
    c3.number_input("Learning rate G", 1e-6, 1.0, step=1e-5, format="%.5f", key="train_lr_g", persist_state="session")
    c4.number_input("Learning rate D", 1e-6, 1.0, step=1e-5, format="%.5f", key="train_lr_d", persist_state="session")
    c1, c2, c3, c4 = st.columns(4)
    c1.number_input("Adam beta1", 0.0, 0.999, step=0.05, format="%.3f", key="train_beta1", persist_state="session")
    c2.number_input("Adam beta2", 0.0, 0.9999, step=0.001, format="%.4f", key="train_beta2", persist_state="session")
    length = c3.radio("Train for", train_form.LENGTHS, key=train_form.LENGTH_KEY, horizontal=True,
                      persist_state="session")
    if length == "Steps":
        c4.number_input("Generator steps", 1, 10_000_000, step=100, key="train_steps", persist_state="session")
    else:
        c4.number_input("Epochs", 0.01, 10_000.0, step=1.0, key="train_epochs", persist_state="session")
    c1, c2, c3, c4 = st.columns(4)
    c1.number_input("Real label (0.9 = smoothing)", 0.0, 1.0, step=0.05, key="train_real_label",
                    persist_state="session")
    c2.number_input("Fake label (0.1 = two-sided)", 0.0, 1.0, step=0.05, key="train_fake_label",
                    persist_state="session")
    c3.number_input("D steps per G step (n_critic)", 1, 20, key="train_n_critic", persist_state="session")
    c4.number_input("EMA of G (0 = off)", 0.0, 0.9999, step=0.001, format="%.4f", key="train_ema",
                    persist_state="session")
    c1, c2 = st.columns([1, 3])
    c1.selectbox("Device", train_form.DEVICE_CHOICES, key="train_device", persist_state="session",
                 help=f"auto picks CUDA, then Apple MPS, then CPU. Found: {jobs.device_line()}")
    c2.text_input("Run name (its folder under checkpoints/)", key=train_form.RUN_NAME_KEY, persist_state="session")
    with st.expander("Advanced"):
        c1, c2, c3, c4 = st.columns(4, vertical_alignment="bottom")  # the checkbox level with the inputs' boxes
        c1.number_input("Random seed", 0, 2**31 - 1, key="train_seed", persist_state="session")
        c2.number_input("Sample grid every N steps", 1, 1_000_000, step=50, key="train_sample_every",
                        persist_state="session")
        c3.number_input("Checkpoint every N steps", 1, 10_000_000, step=100, key="train_checkpoint_every",
                        persist_state="session")
        c4.checkbox("Mixed precision (bf16)", key="train_amp", persist_state="session",
                    help="Used where it is faster: GPUs with bf16, and CPUs with bf16 instructions where a short "
                         "test at the start measures it faster than 32-bit. Weights stay 32-bit.")
        c1, c2 = st.columns(2)
        c1.number_input("Class loss weight (AC-GAN, conditional models; 0 = off)", 0.0, 100.0, step=0.5,
                        key="train_class_weight", persist_state="session",
                        help="D also learns to name the class of real images, and G is pushed to draw the class it "
                             "was asked for: clearer, class-true samples sooner.")
        c2.selectbox("Augment what D sees", train_form.AUGMENT_CHOICES, key="train_augment", persist_state="session",
                     format_func=lambda v: v.replace(",", ", ") or "none",
                     help="The same random shifts (and cutouts, colour changes) for real and generated images: D "
                          "overfits a small set later.")


def controls(snap: live.JobSnapshot | None) -> None:
    status = snap.status if snap is not None else None
    c1, c2, c3, c4 = st.columns(4)
    # Start stays enabled: if another tab started a run meanwhile, the registry refuses with a message.
    c1.button("Start", key="train_start_btn", type="primary", on_click=on_start, width="stretch")
    c2.button("Pause", key="train_pause_btn", on_click=on_command, args=("pause",), disabled=status != "running",
              width="stretch")
    c3.button("Resume", key="train_resume_btn", on_click=on_command, args=("resume",), disabled=status != "paused",
              width="stretch")
    c4.button("Stop", key="train_stop_btn", on_click=on_command, args=("stop",),
              disabled=snap is None or not snap.active, width="stretch")


# ---- the live panel --------------------------------------------------------------------------------------------------
def draw_snapshot(snap: live.JobSnapshot) -> None:
    st.markdown(f"**Run `{snap.run_name}`: {snap.status}**")
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
    if snap.status in ("done", "stopped"):
        checkpoint = snap.checkpoint or "none (no step trained)"
        st.success(f"Run {snap.status} at step {snap.step:,}. Checkpoint: {checkpoint}")
    if snap.message and snap.status != "loading":
        st.caption(snap.message)
    for alert in snap.alerts[-5:]:
        st.warning(f"Step {alert.get('step', '?')}: {alert.get('message', '')}")
    recognition = live.recognition_line(snap)
    if recognition:
        st.markdown(recognition)
    if snap.grid is not None:
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
                col.metric(r.label, r.value, r.delta, delta_color=r.delta_color,
                           help=f"{'Lower' if r.lower_is_better else 'Higher'} is better.")
        st.plotly_chart(charts["quality"], key="train_chart_quality")


def live_panel(first: live.JobSnapshot) -> None:
    """Drawn in the full run with `first`, then redrawn alone while the job is active: the status, progress and
    grid every POLL_SECONDS, the charts every CHART_SECONDS (they change once per logged step and cost the most)."""
    state = {"panel": True, "charts": True}

    def current(part: str) -> live.JobSnapshot:
        if state[part]:  # the full run draws the snapshot it was given
            state[part] = False
            return first
        job = jobs.watched_job()
        return job.snapshot() if job is not None else first

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
note = train_form.recipe_note(recipe, chosen)
try:
    config = train_form.form_config()
except session.USER_ERRORS as e:
    config = None
    st.error(str(e))
shown = config.data if config is not None else chosen
st.caption(f"Data set: {data.dataset_summary(shown)} (choose it on the Data page)." + (f" {note}" if note else ""))
if config is not None:
    st.caption(train_form.model_summary(config))
with st.expander("Settings", expanded=custom):
    settings_form(custom, conditional_possible=train_form.conditional_possible(chosen))

job = jobs.watched_job()
snapshot = job.snapshot() if job is not None else None
controls(snapshot)
if snapshot is None:
    st.info("No run yet: press **Start**. Training goes on when you change page or close the tab.")
else:
    live_panel(snapshot)
