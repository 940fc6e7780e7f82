"""Explore page: sample a trained generator by seed, move along latent and PCA directions, interpolate, download."""

from __future__ import annotations

import random
import time

import streamlit as st
import torch

import app_state

MAX_DIMS = 8  # sliders on the first latent dimensions
ROW_LEN = 7  # images in the row along one direction
SLIDER_KEYS = [f"explore_dim_{i}" for i in range(MAX_DIMS)] + [f"explore_pc_{i}" for i in range(app_state.PCA_K)]


def randomize_seed() -> None:
    st.session_state["explore_seed"] = random.randrange(0, 2**31 - 1)


def reset_sliders() -> None:
    for key in SLIDER_KEYS:
        st.session_state[key] = 0.0


def pick_source() -> app_state.ExploreSource | None:
    """The run selector: runs with a checkpoint, plus the run training now (explored through a snapshot copy)."""
    runs = {r.name: r for r in app_state.runs()}
    active = app_state.job_registry().active()
    live = active.run_dir.name if active is not None else None
    options = [n for n, r in runs.items() if r.checkpoints or n == live]
    if live is not None and live not in options:
        options.insert(0, live)
    if not options:
        st.info("No trained runs yet: train one on the **Train** page (a checkpoint is saved when it stops).")
        return None
    watched = st.session_state.get(app_state.RUN_KEY)
    app_state.default("explore_run", watched if watched in options else options[0])
    if st.session_state["explore_run"] not in options:  # the run was deleted meanwhile
        st.session_state["explore_run"] = options[0]
    name = st.selectbox("Run", options, key="explore_run",
                        format_func=lambda n: f"{n} (training now: a snapshot copy)" if n == live else n)
    if name == live:
        refresh = st.button("Take a fresh copy of the generator being trained", key="explore_refresh_btn")
        source = app_state.live_source(active, refresh=refresh)
    else:
        source = app_state.checkpoint_source(runs[name])
    if isinstance(source, str):
        st.error(source)
        return None
    return source


@st.fragment
def explorer(source: app_state.ExploreSource) -> None:
    """Everything that redraws on a slider move; a fragment, so moving a slider reruns only this part."""
    started = time.perf_counter()
    left, right = st.columns([2, 3])
    with right:
        c1, c2, c3 = st.columns([2, 1, 2])
        app_state.default("explore_seed", 0)
        seed = c1.number_input("Seed", 0, 2**31 - 1, key="explore_seed")
        c2.button("Random", key="explore_random_btn", on_click=randomize_seed, help="A random seed")
        truncation = c3.slider("Truncation (0 = off)", 0.0, 3.0, 0.0, 0.1, key="explore_truncation",
                               help="Redraws noise values beyond ±t: smaller t gives typical, less varied images.")
        label = None
        if source.num_classes:
            names = source.class_names()
            app_state.default("explore_class", 0)
            if st.session_state["explore_class"] >= len(names):
                st.session_state["explore_class"] = 0
            label = st.selectbox("Class", list(range(len(names))), key="explore_class", format_func=names.__getitem__)
        n_dims = min(MAX_DIMS, source.latent_dim)
        n_pcs = int(source.directions.shape[0])
        for key in SLIDER_KEYS:
            app_state.default(key, 0.0)
        tab_pc, tab_dim = st.tabs(["Principal directions", "Latent dimensions"])
        with tab_pc:
            cols = st.columns(2)
            pcs = [cols[i % 2].slider(f"PC {i + 1}", -4.0, 4.0, step=0.1, key=f"explore_pc_{i}") for i in range(n_pcs)]
        with tab_dim:
            cols = st.columns(2)
            dims = [cols[i % 2].slider(f"z[{i}] offset", -3.0, 3.0, step=0.1, key=f"explore_dim_{i}")
                    for i in range(n_dims)]
        st.button("Reset sliders", key="explore_reset_btn", on_click=reset_sliders)
        directions = [f"PC {i + 1}" for i in range(n_pcs)] + [f"dim {i + 1}" for i in range(n_dims)]
        c1, c2 = st.columns(2)
        direction = c1.selectbox("Row along direction", directions, key="explore_row_direction")
        span = c2.slider("Row reaches ±", 0.5, 6.0, 3.0, 0.5, key="explore_row_span")

    z = app_state.latent_vector(source, int(seed), float(truncation), dims, pcs)
    steps = torch.linspace(-span, span, ROW_LEN).unsqueeze(1)
    row = z.unsqueeze(0) + steps * app_state.direction_vector(source, direction).unsqueeze(0)
    images = app_state.render(source, torch.cat([z.unsqueeze(0), row]), label)  # one forward: main image + row
    main = app_state.upscale(app_state.tensor_image(images[0]), 256)
    main_png = app_state.png_bytes(main)
    with left:
        st.image(main_png, caption=f"Seed {seed}", width="content")
        st.download_button("Download PNG", main_png, file_name=f"sample-seed{seed}.png", mime="image/png",
                           key="explore_png_btn", on_click="ignore")
        st.caption(f"Drawn in {1000 * (time.perf_counter() - started):.0f} ms")
    st.image(app_state.upscale(app_state.grid_image(images[1:], nrow=ROW_LEN), 96), width="content",
             caption=f"Along {direction}, from -{span} to +{span}")

    st.subheader("Interpolation")
    c1, c2, c3 = st.columns(3)
    app_state.default("explore_seed_b", 1)
    seed_b = c1.number_input("To seed", 0, 2**31 - 1, key="explore_seed_b")
    mode = c2.radio("Path", ["slerp", "lerp"], key="explore_interp_mode", horizontal=True,
                    help="slerp follows the sphere where Gaussian noise lives; lerp is the straight line.")
    n_steps = c3.slider("Steps", 3, 16, 8, key="explore_interp_steps")
    strip, gif = app_state.interpolation(source, source.key, int(seed), int(seed_b), mode, int(n_steps),
                                         float(truncation), label)
    st.image(strip, caption=f"Seed {seed} → seed {seed_b} ({mode})", width="content")
    st.download_button("Download GIF", gif, file_name=f"interpolation-{seed}-{seed_b}.gif", mime="image/gif",
                       key="explore_gif_btn", on_click="ignore")


app_state.run_inside_app()
st.title("Explore")
st.markdown("Pick a trained run and look around its latent space.")
chosen = pick_source()
if chosen is not None:
    st.caption(f"Generator: {chosen.label} · latent size {chosen.latent_dim}"
               + (f" · {chosen.num_classes} classes" if chosen.num_classes else ""))
    explorer(chosen)
