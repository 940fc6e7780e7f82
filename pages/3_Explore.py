"""Explore page: sample a trained generator by seed, move along latent and PCA directions, interpolate, download."""

from __future__ import annotations

import streamlit as st

from workbench import explore, jobs, navigation, playground, session

MAX_DIMS = 8  # sliders on the first latent dimensions
ROW_LEN = 7  # images in the row along one direction
SLIDER_KEYS = [f"explore_dim_{i}" for i in range(MAX_DIMS)] + [f"explore_pc_{i}" for i in range(explore.PCA_K)]


def randomize_seed() -> None:
    st.session_state["explore_seed"] = explore.random_seed()


def reset_sliders() -> None:
    for key in SLIDER_KEYS:
        st.session_state[key] = 0.0


def pick_source() -> explore.ExploreSource | None:
    """The run selector: runs with a checkpoint, plus the run training now (explored through a snapshot copy)."""
    options, live = explore.explorable_runs()
    if not options:
        st.info("No trained runs yet: train one on the **Train** page (a checkpoint is saved when it stops).")
        return None
    watched = jobs.watched_run_name()
    session.default("explore_run", watched if watched in options else options[0])
    if st.session_state["explore_run"] not in options:  # the run was deleted meanwhile
        st.session_state["explore_run"] = options[0]
    name = st.selectbox("Run", options, key="explore_run",
                        format_func=lambda n: f"{n} (training now: a snapshot copy)" if n == live else n)
    refresh = False
    if name == live:
        refresh = st.button("Take a fresh copy of the generator being trained", key="explore_refresh_btn")
    source = explore.source(name, refresh=refresh)
    if isinstance(source, str):
        st.error(source)
        return None
    return source


def show_neighbours(source: explore.ExploreSource, sample) -> None:
    """The sample's 3 nearest training images with their distances, and whether it looks like a copy."""
    with st.spinner("Comparing with the training images (the first time computes their features)..."):
        view = explore.neighbours(source, sample)
    if isinstance(view, str):
        st.info(view)
        return
    st.markdown(view.verdict)
    rows = [("By features (the quality score's; distance in units of the real set's spread)", view.by_features)]
    if view.by_pixels:
        rows.append(("By pixels (RMS difference at 16 x 16, the best of moving the sample by up to a pixel)",
                     view.by_pixels))
    for title, found in rows:
        st.caption(title)
        for col, (image, index, distance) in zip(st.columns(len(found) or 1), found):
            col.image(image, caption=f"#{index} · {distance:.3f}")


@st.fragment
def explorer(source: explore.ExploreSource) -> None:
    """Everything that redraws on a slider move; a fragment, so moving a slider reruns only this part."""
    left, right = st.columns([2, 3])
    with right:
        c1, c2, c3 = st.columns([2, 1, 2])
        session.default("explore_seed", 0)
        seed = c1.number_input("Seed", 0, 2**31 - 1, key="explore_seed")
        c2.button("Random", key="explore_random_btn", on_click=randomize_seed, help="A random seed")
        truncation = c3.slider("Truncation (0 = off)", 0.0, 3.0, 0.0, 0.1, key="explore_truncation",
                               help="Redraws noise values beyond ±t: smaller t gives typical, less varied images.")
        label = None
        if source.num_classes:
            options = explore.class_options(source)
            session.default("explore_class", explore.ANY_CLASS)
            if st.session_state["explore_class"] not in options:
                st.session_state["explore_class"] = explore.ANY_CLASS
            label = st.selectbox(
                "Class", options, key="explore_class", format_func=lambda v: explore.class_name(source, v)
            )
        n_dims = min(MAX_DIMS, source.latent_dim)
        for key in SLIDER_KEYS:
            session.default(key, 0.0)
        tab_pc, tab_dim = st.tabs(["Principal directions", "Latent dimensions"])
        with tab_pc:
            cols = st.columns(2)
            pcs = [cols[i % 2].slider(f"PC {i + 1}", -4.0, 4.0, step=0.1, key=f"explore_pc_{i}")
                   for i in range(source.num_directions)]
        with tab_dim:
            cols = st.columns(2)
            dims = [cols[i % 2].slider(f"z[{i}] offset", -3.0, 3.0, step=0.1, key=f"explore_dim_{i}")
                    for i in range(n_dims)]
        st.button("Reset sliders", key="explore_reset_btn", on_click=reset_sliders)
        c1, c2 = st.columns(2)
        direction = c1.selectbox("Row along direction", explore.direction_names(source, n_dims),
                                 key="explore_row_direction")
        span = c2.slider("Row reaches ±", 0.5, 6.0, 3.0, 0.5, key="explore_row_span")

    drawing = explore.draw(source, int(seed), float(truncation), dims, pcs, direction, span, label, ROW_LEN)
    with left:
        st.image(drawing.main_png, caption=f"Seed {seed}", width="content")
        st.download_button("Download PNG", drawing.main_png, file_name=f"sample-seed{seed}.png", mime="image/png",
                           key="explore_png_btn", on_click="ignore")
        st.caption(f"Drawn in {drawing.milliseconds:.0f} ms")
        if st.toggle("Its nearest training images (did it learn or copy?)", key="explore_neighbours"):
            show_neighbours(source, drawing.sample)
    st.image(drawing.row, width="content", caption=f"Along {direction}, from -{span} to +{span}")

    st.subheader("Interpolation")
    c1, c2, c3 = st.columns(3)
    session.default("explore_seed_b", 1)
    seed_b = c1.number_input("To seed", 0, 2**31 - 1, key="explore_seed_b")
    mode = c2.radio("Path", ["slerp", "lerp"], key="explore_interp_mode", horizontal=True,
                    help="slerp follows the sphere where Gaussian noise lives; lerp is the straight line.")
    n_steps = c3.slider("Steps", 3, 16, 8, key="explore_interp_steps")
    strip, gif = explore.interpolation(source, source.key, int(seed), int(seed_b), mode, int(n_steps),
                                       float(truncation), label)
    st.image(strip, caption=f"Seed {seed} → seed {seed_b} ({mode})", width="content")
    st.download_button("Download GIF", gif, file_name=f"interpolation-{seed}-{seed_b}.gif", mime="image/gif",
                       key="explore_gif_btn", on_click="ignore")


navigation.run_inside_app()
st.title("Explore")
st.markdown("Pick a trained run and look around its latent space.")
chosen = pick_source()
if chosen is not None:
    st.caption(f"Generator: {chosen.label} · latent size {chosen.latent_dim}"
               + (f" · {chosen.num_classes} classes" if chosen.num_classes else ""))
    if chosen.loaded.is_points:  # a 2-D run: a latent point and where G puts it
        playground.explore_points(chosen.loaded)
    else:
        explorer(chosen)
    st.subheader("Use the generator elsewhere")
    onnx = explore.onnx_download(chosen, st.session_state["explore_run"])
    if isinstance(onnx, str):
        st.caption(onnx)
    else:
        st.download_button("Download generator (ONNX)", onnx.data, file_name=onnx.file_name,
                           mime="application/octet-stream", key="explore_onnx_btn", on_click="ignore",
                           help="Inputs z (and label), output images in [-1, 1]; the README shows how to sample "
                                "it with onnxruntime.")
