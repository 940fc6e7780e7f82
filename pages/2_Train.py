"""Train page: pick a recipe or custom settings, start/pause/resume/stop, and a live panel polled by a fragment."""

from __future__ import annotations

import streamlit as st

import app_charts
import app_live
import app_state

RECIPES = list(app_state.PRESETS) + [app_state.CUSTOM]
LENGTHS = ["Steps", "Epochs"]


# ---- callbacks: they run before the page script, so they may set widget values; messages go through flash ------------
def load_recipe(name: str) -> None:
    """Fill every setting widget with the recipe's values and suggest a fresh run name."""
    cfg = app_state.recipe_config(name, app_state.chosen_data())
    st.session_state["train_preset"] = name
    st.session_state.update(app_state.settings_from_config(cfg))
    st.session_state["train_run_name"] = app_state.suggest_run_name(cfg)


def on_recipe_change() -> None:
    try:
        load_recipe(st.session_state["train_preset"])
    except app_state.UserError as e:
        app_state.flash(str(e), "error")


def current_config() -> app_state.RunConfig:
    """The RunConfig the form describes (validated; UserError with the fix otherwise)."""
    preset = st.session_state["train_preset"]
    base = app_state.recipe_config(preset, app_state.chosen_data())
    values = {k: st.session_state[k] for k in [*app_state.SETTINGS, "train_length"] if k in st.session_state}
    return app_state.apply_settings(base, values, custom=preset == app_state.CUSTOM)


def on_start() -> None:
    try:
        cfg = current_config()
        name = (st.session_state.get("train_run_name") or "").strip() or app_state.suggest_run_name(cfg)
        app_state.start_training(cfg, name)
    except app_state.UserError as e:
        app_state.flash(str(e), "error")
        return
    st.session_state["train_run_name"] = app_state.suggest_run_name(cfg)  # the next run gets a fresh folder


def on_command(command: str) -> None:
    job = app_state.watched_job()
    if job is not None:
        getattr(job, command)()


# ---- the form -----------------------------------------------------------------------------------------------------------
def settings_form(custom: bool, conditional_possible: bool) -> None:
    if custom:
        c1, c2, c3, c4 = st.columns(4)
        c1.selectbox("Architecture", app_state.ARCH_NAMES, key="train_arch", persist_state="session",
                     help="; ".join(f"{k}: {v}" for k, v in app_state.ARCHITECTURES.items()))
        c2.selectbox("Loss", app_state.LOSS_NAMES, key="train_loss", persist_state="session",
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
    length = c3.radio("Train for", LENGTHS, key="train_length", horizontal=True, persist_state="session")
    if length == "Steps":
        c4.number_input("Generator steps", 1, 10_000_000, step=100, key="train_steps", persist_state="session")
    else:
        c4.number_input("Epochs", 0.01, 10_000.0, step=1.0, key="train_epochs", persist_state="session")
    c1, c2, c3, c4 = st.columns(4)
    c1.number_input("Real label (0.9 = smoothing)", 0.0, 1.0, step=0.05, key="train_real_label", persist_state="session")
    c2.number_input("Fake label (0.1 = two-sided)", 0.0, 1.0, step=0.05, key="train_fake_label", persist_state="session")
    c3.number_input("D steps per G step (n_critic)", 1, 20, key="train_n_critic", persist_state="session")
    c4.number_input("EMA of G (0 = off)", 0.0, 0.9999, step=0.001, format="%.4f", key="train_ema",
                    persist_state="session")
    c1, c2 = st.columns([1, 3])
    c1.selectbox("Device", app_state.DEVICE_NAMES, key="train_device", persist_state="session",
                 help=f"auto picks CUDA, then Apple MPS, then CPU. Found: {app_state.device_line()}")
    c2.text_input("Run name (its folder under checkpoints/)", key="train_run_name", persist_state="session")
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


def controls(snap: app_state.JobSnapshot | None) -> None:
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


# ---- the live panel -----------------------------------------------------------------------------------------------------
def draw_snapshot(snap: app_state.JobSnapshot) -> None:
    st.markdown(f"**Run `{snap.run_name}`: {snap.status}**")
    if snap.status == "loading":
        st.progress(0.0, text=snap.message or "Loading the data set...")
    else:
        total = max(snap.total_steps, 1)
        st.progress(min(snap.step / total, 1.0), text=f"Step {snap.step:,} / {snap.total_steps:,} · epoch {snap.epoch:.2f}")
        eta = app_state.format_seconds(snap.eta_seconds) if snap.active else "—"
        # One line, not three metrics: the panel is half the page wide and big metric digits were cut off.
        st.markdown(f"ETA **{eta}** · **{snap.images_per_second:,.0f}** images/second · "
                    f"**{app_state.format_seconds(snap.train_seconds)}** trained"
                    + (f" · {snap.hardware}" if snap.hardware else ""))
    if snap.status == "failed":
        st.error(snap.error or "Training failed.")
    elif snap.error:  # a finished run whose last save failed (disk full, non-finite weights)
        st.warning(snap.error)
    if snap.status in ("done", "stopped"):
        st.success(f"Run {snap.status} at step {snap.step:,}. Checkpoint: {snap.checkpoint or 'none (no step trained)'}")
    if snap.message and snap.status != "loading":
        st.caption(snap.message)
    for alert in snap.alerts[-5:]:
        st.warning(f"Step {alert.get('step', '?')}: {alert.get('message', '')}")
    if snap.grid is not None:
        st.image(app_live.grid_png(snap), width="stretch", caption=f"Fixed-noise samples at step {snap.grid_step:,}")
    else:
        st.caption("Samples appear after the first step.")


def draw_charts(snap: app_state.JobSnapshot) -> None:
    smoothing = st.slider("Curve smoothing (EMA)", 0.0, 0.99, 0.6, 0.01, key="train_smoothing",
                          persist_state="session")
    quality = app_live.quality_curves(snap)
    cols = st.columns(2)
    cols[0].plotly_chart(app_live.chart(snap, app_charts.LOSS_KEYS, smoothing, "Losses"), key="train_chart_losses")
    cols[1].plotly_chart(app_live.chart(snap, app_charts.PROB_KEYS, smoothing, "D(x) and D(G(z))"),
                         key="train_chart_probs")
    if quality:  # next to the losses, below them
        st.plotly_chart(app_live.chart(snap, quality, smoothing, "Quality (lower is better) and coverage"),
                        key="train_chart_quality")


def live_panel(first: app_state.JobSnapshot) -> None:
    """Drawn in the full run with `first`, then redrawn alone while the job is active: the status, progress and
    grid every POLL_SECONDS, the charts every CHART_SECONDS (they change once per logged step and cost the most)."""
    state = {"panel": True, "charts": True}

    def current(part: str) -> app_state.JobSnapshot:
        if state[part]:  # the full run draws the snapshot it was given
            state[part] = False
            return first
        job = app_state.watched_job()
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
        st.fragment(panel, run_every=app_state.POLL_SECONDS if active else None)()
    with right:
        st.fragment(charts, run_every=app_state.CHART_SECONDS if active else None)()


app_state.run_inside_app()
st.title("Train")
app_state.show_flash()
data = app_state.chosen_data()
# A new data set choice resets the form to that set's default recipe (the Data page's choice carries over).
data_key = app_state.config_key(data) if data is not None else ""
if st.session_state.get("train_data_key") != data_key or "train_preset" not in st.session_state:
    st.session_state["train_data_key"] = data_key
    try:
        load_recipe(app_state.default_recipe(data))
    except app_state.UserError as e:
        st.error(str(e))
        load_recipe(app_state.DEFAULT_PRESET)

st.selectbox("Recipe", RECIPES, key="train_preset", on_change=on_recipe_change, persist_state="session",
             format_func=lambda n: n if n == app_state.CUSTOM else f"{n} — {app_state.PRESETS[n].description}")
preset = st.session_state["train_preset"]
note = app_state.recipe_note(preset, data)
try:
    config: app_state.RunConfig | None = current_config()
except app_state.UserError as e:
    config = None
    st.error(str(e))
shown = config.data if config is not None else data
st.caption(f"Data set: {app_state.dataset_summary(shown)} (choose it on the Data page)." + (f" {note}" if note else ""))
if config is not None:
    m, t = config.model, config.train
    length = f"{t.epochs:g} epochs" if t.epochs is not None else f"{t.steps:,} steps"
    st.caption(f"Model: {m.arch}{' (conditional)' if m.conditional else ''}, {t.loss} loss, latent {m.latent_dim}, "
               f"batch {t.batch_size}, {length}, lr G/D {t.lr_g:g}/{t.lr_d:g}, EMA {t.ema:g}, device {t.device}"
               + (", bf16 where faster." if t.amp else ", fp32."))
with st.expander("Settings", expanded=preset == app_state.CUSTOM):
    settings_form(preset == app_state.CUSTOM, conditional_possible=(data or app_state.DataConfig()).name
                  not in ("celeba", "folder"))

job = app_state.watched_job()
snapshot = job.snapshot() if job is not None else None
controls(snapshot)
if snapshot is None:
    st.info("No run yet: press **Start**. Training goes on when you change page or close the tab.")
else:
    live_panel(snapshot)
