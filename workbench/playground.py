"""The 2-D playground (after GAN Lab): live real and generated points, D's heat map, G's gradient arrows, the latent
mesh bent by G, step mode and slow motion on Train, the losses' D surfaces side by side, and a latent point on Explore.

The training thread draws nothing here: it publishes playground.Frame arrays in the job's snapshot, which these
fragments poll."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from gan_core.catalog import LOSSES
from gan_core.config import POINT_DATASETS, DataConfig
from gan_core.data import load_dataset
from gan_core.job import TrainingJob
from gan_core.runs.generator import LoadedGenerator
from gan_core.runs.snapshot import JobSnapshot
from gan_core.train.playground import MESH_RANGE, MESH_SIDE, Frame, latent_plane, loss_surfaces, plot_extent
from gan_core.train.point_callbacks import REAL_SHOWN

FRAME_SECONDS = 0.5  # the playground redraws twice a second (frames are published every 0.5 s)
LAYERS = ("Real points", "Generated points", "D's output", "G's gradient", "Latent mesh")
SPEEDS = {"full speed": 0.0, "20 steps/s": 0.05, "5 steps/s": 0.2, "1 step/s": 1.0}  # slow motion: wait per step
COMPARED_LOSSES = ("bce", "wgan-gp", "hinge")
ARROWS = 120  # gradient arrows drawn (of the frame's generated points)
CLICK_SPACING = 0.1  # Explore's latent plane: clickable points this far apart (51 x 51 of them)
SLIDER_STEP = 0.05
LATENT_CHART = "explore_points_latent"
REAL_COLOR, FAKE_COLOR, MESH_COLOR, ARROW_COLOR = "#7f7f7f", "#1f77b4", "rgba(255,127,14,0.55)", "#d62728"


def is_points(snap: JobSnapshot | None) -> bool:
    """Whether a run trains on a 2-D point set (and so has a playground)."""
    return snap is not None and snap.dataset in POINT_DATASETS


def _segments(starts: np.ndarray, ends: np.ndarray) -> tuple[list[float | None], list[float | None]]:
    """x and y lists of line segments start -> end, separated by None (one plotly trace for all of them)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for (x0, y0), (x1, y1) in zip(starts.tolist(), ends.tolist()):
        xs += [x0, x1, None]
        ys += [y0, y1, None]
    return xs, ys


def heat_trace(heat: np.ndarray, extent: tuple[float, float, float, float], loss: str,
               showscale: bool = True) -> go.Heatmap:
    """D's output over the plane: probability 'real' (green high) or a critic's raw score."""
    side = heat.shape[0]
    critic = LOSSES[loss].critic  # a raw score, not a probability
    label = "critic score" if critic else "D: P(real)"
    return go.Heatmap(z=heat, x=np.linspace(extent[0], extent[1], side), y=np.linspace(extent[2], extent[3], side),
                      colorscale="RdYlGn", opacity=0.55, showscale=showscale, name=label,
                      colorbar={"title": {"text": label}, "len": 0.8},
                      **({} if critic else {"zmin": 0.0, "zmax": 1.0}))


def frame_figure(frame: Frame, layers: tuple[str, ...] = LAYERS, height: int = 520) -> go.Figure:
    """The playground's plot of one frame, with the chosen layers."""
    fig = go.Figure()
    x0, x1, y0, y1 = frame.extent
    if "D's output" in layers:
        fig.add_trace(heat_trace(frame.heat, frame.extent, frame.loss))
    if "Latent mesh" in layers:  # rows and columns of the latent grid, bent by G
        xs: list[float | None] = []
        ys: list[float | None] = []
        for line in list(frame.mesh) + list(frame.mesh.transpose(1, 0, 2)):
            xs += line[:, 0].tolist() + [None]
            ys += line[:, 1].tolist() + [None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": MESH_COLOR, "width": 1},
                                 name="latent mesh", hoverinfo="skip"))
    if "Real points" in layers:
        fig.add_trace(go.Scattergl(x=frame.real[:, 0], y=frame.real[:, 1], mode="markers", name="real",
                                   marker={"size": 3, "color": REAL_COLOR}))
    if "Generated points" in layers:
        fig.add_trace(go.Scattergl(x=frame.fake[:, 0].tolist(), y=frame.fake[:, 1].tolist(), mode="markers",
                                   name="generated",
                                   marker={"size": 4, "color": FAKE_COLOR}))
    if "G's gradient" in layers:
        # Arrows scaled so the longest is 8% of the view: directions and relative sizes are what matter.
        idx = np.linspace(0, len(frame.fake) - 1, min(ARROWS, len(frame.fake))).astype(int)
        starts, grads = frame.fake[idx], frame.arrows[idx]
        longest = float(np.linalg.norm(grads, axis=1).max()) or 1.0
        ends = starts + grads / longest * 0.08 * (x1 - x0)
        xs, ys = _segments(starts, ends)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": ARROW_COLOR, "width": 1.5},
                                 name="G's gradient", hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=ends[:, 0], y=ends[:, 1], mode="markers", showlegend=False, hoverinfo="skip",
                                 marker={"size": 4, "color": ARROW_COLOR, "symbol": "circle"}))
    # The legend sits above the plot, right of the title: below it, it covered the x axis' tick labels.
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      title={"text": f"Step {frame.step:,}", "font": {"size": 14}},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "xanchor": "right", "x": 1.0},
                      uirevision="playground")
    fig.update_xaxes(range=[x0, x1], showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(range=[y0, y1], showgrid=False, zeroline=False, scaleanchor="x", scaleratio=1,
                     constrain="domain")
    return fig


def surfaces_figure(surfaces: dict[str, np.ndarray], real: np.ndarray, fake: np.ndarray,
                    extent: tuple[float, float, float, float]) -> go.Figure:
    """The losses' D surfaces side by side, each with the same real (grey) and fake (blue) points."""
    from plotly.subplots import make_subplots

    names = list(surfaces)
    fig = make_subplots(1, len(names), subplot_titles=[n.upper() if n != "wgan-gp" else "WGAN-GP" for n in names],
                        horizontal_spacing=0.04)
    for i, name in enumerate(names, start=1):
        # Each rescaled to 0-1: a critic's score has no fixed range, and the shapes are what differ.
        heat = surfaces[name]
        heat = (heat - heat.min()) / max(float(heat.max() - heat.min()), 1e-8)
        fig.add_trace(heat_trace(heat, extent, "bce", showscale=False), 1, i)
        fig.add_trace(go.Scattergl(x=real[:, 0], y=real[:, 1], mode="markers", showlegend=False,
                                   marker={"size": 3, "color": REAL_COLOR}), 1, i)
        fig.add_trace(go.Scattergl(x=fake[:, 0], y=fake[:, 1], mode="markers", showlegend=False,
                                   marker={"size": 3, "color": FAKE_COLOR}), 1, i)
        fig.update_xaxes(range=[extent[0], extent[1]], showgrid=False, row=1, col=i)
        fig.update_yaxes(range=[extent[2], extent[3]], showgrid=False, row=1, col=i, scaleanchor=f"x{i}")
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


# ---- Train page ------------------------------------------------------------------------------------------------------
def controls(job: TrainingJob | None, snap: JobSnapshot) -> None:
    """Step mode and slow motion for this app's own run (a run watched elsewhere takes no commands)."""
    if job is None:
        return
    c1, c2 = st.columns([1, 2])
    c1.button("Step", key="playground_step_btn", on_click=job.step_once, disabled=snap.status != "paused",
              help="Step mode: Pause, then one training step per click.", width="stretch")
    current = next((k for k, v in SPEEDS.items() if v == snap.step_delay), "full speed")
    speed = c2.select_slider("Speed", list(SPEEDS), value=current, key="playground_speed",
                             help="Slow motion: the thread waits after each step (the wait is not training time).")
    if SPEEDS[speed] != snap.step_delay:
        job.set_step_delay(SPEEDS[speed])


def panel(job: TrainingJob | None, first: JobSnapshot, latest: Callable[[], JobSnapshot | None]) -> None:
    """The playground of a 2-D run: layers to show, the live plot (twice a second), step mode, slow motion and the
    comparison of the losses' D surfaces."""
    st.subheader("Playground")
    layers = st.pills("Show", LAYERS, default=list(LAYERS), selection_mode="multi", key="playground_layers")
    controls(job, first)

    def plot() -> None:
        snap = latest() or first
        if snap.frame is None:
            st.caption("The playground appears after the first step.")
            return
        st.plotly_chart(frame_figure(snap.frame, tuple(layers or ())), key="playground_plot")
        st.caption("Grey: real points · blue: generated points (fixed noise) · background: D's output · red: where "
                   "D pushes each generated point (G's gradient) · orange: the latent grid bent by G.")

    st.fragment(plot, run_every=FRAME_SECONDS if first.active else None)()
    with st.expander("Compare the losses' D surfaces"):
        st.caption("A fresh D trained for a few hundred steps with each loss, on the real points against the "
                   "generated points now, or against a generator at its start (a blob at the centre): BCE "
                   "saturates into flat plateaus, hinge stops at its margin, WGAN-GP's critic slopes evenly (its "
                   "gradient penalty keeps the slope near 1), which keeps G's gradient alive far from the data. "
                   "Each surface is rescaled to 0-1.")
        against = st.radio("Against", ["a generator at its start", "the generated points now"], horizontal=True,
                           key="playground_compare_against")
        # Either sign of a click compares: the flag its on_click raises (kept until a run has compared; the
        # button's own True value can be lost when its rerun merges with a fragment's) or that value (the browser
        # test twice saw a click compare nothing while fragments polled, the flag's path alone in place).
        clicked = st.button("Compare BCE, WGAN-GP and hinge", key="playground_compare_btn",
                            on_click=lambda: st.session_state.update(playground_compare_pending=True))
        if clicked or st.session_state.get("playground_compare_pending"):
            snap = latest() or first
            if snap.frame is not None:
                f = snap.frame
                fake = f.fake if against == "the generated points now" else start_blob(f.real, len(f.fake))
                with st.spinner("Training three small discriminators..."):
                    surfaces = loss_surfaces(torch.from_numpy(f.real), torch.from_numpy(fake), COMPARED_LOSSES)
                extent = plot_extent(torch.from_numpy(np.concatenate([f.real, fake])))
                st.session_state["playground_surfaces"] = (surfaces, f.real, fake, extent)
            st.session_state["playground_compare_pending"] = False
        saved = st.session_state.get("playground_surfaces")
        if saved is not None:
            st.plotly_chart(surfaces_figure(*saved), key="playground_surfaces_plot")


def start_blob(real: np.ndarray, n: int) -> np.ndarray:
    """n points as a generator at its start draws them: a small Gaussian blob at the real points' centre."""
    spread = float(real.std()) * 0.15
    rng = np.random.default_rng(0)
    return (real.mean(0) + spread * rng.standard_normal((n, 2))).astype(np.float32)


# ---- Explore page ----------------------------------------------------------------------------------------------------
def latent_figure(z: np.ndarray) -> go.Figure:
    """The latent plane (first two dimensions) with the chosen point, under a fine grid of invisible points that
    a click selects (Streamlit's chart selection reports clicks on points only, not on empty plot area)."""
    axis = np.round(np.arange(-MESH_RANGE, MESH_RANGE + 1e-9, CLICK_SPACING), 2)
    gx, gy = np.meshgrid(axis, axis)  # side x side, side = 2 * MESH_RANGE / CLICK_SPACING + 1
    fig = go.Figure(go.Scatter(x=gx.ravel(), y=gy.ravel(), mode="markers", name="click to move",
                               marker={"size": 9, "color": FAKE_COLOR, "opacity": 0.0}, showlegend=False,
                               unselected={"marker": {"opacity": 0.0}}, selected={"marker": {"opacity": 0.0}},
                               hovertemplate="z = (%{x:+.2f}, %{y:+.2f})<extra>click to move here</extra>"))
    fig.add_trace(go.Scatter(x=[z[0]], y=[z[1]], mode="markers", marker={"size": 14, "color": FAKE_COLOR},
                             unselected={"marker": {"opacity": 1.0}}, name="z", hoverinfo="skip"))
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10}, showlegend=False,
                      title="Latent space (z[0], z[1]): click to move the point", clickmode="event+select")
    fig.update_xaxes(range=[-MESH_RANGE - 0.1, MESH_RANGE + 0.1])
    fig.update_yaxes(range=[-MESH_RANGE - 0.1, MESH_RANGE + 0.1], scaleanchor="x")
    return fig


def _move_to_click() -> None:
    """on_select of the latent chart: a clicked grid point becomes the slider pair's value (before they draw)."""
    points = st.session_state[LATENT_CHART].selection.points
    if points:
        st.session_state["explore_points_z0"] = float(points[0]["x"])
        st.session_state["explore_points_z1"] = float(points[0]["y"])


def output_figure(loaded: LoadedGenerator, z: torch.Tensor, real: np.ndarray) -> go.Figure:
    """The data plane: real points, the latent mesh bent by G, and G(z) of the chosen point."""
    g = loaded.generator
    mesh = loaded.points(latent_plane(g.latent_dim)).numpy().reshape(MESH_SIDE, MESH_SIDE, 2)
    out = loaded.points(z[None]).numpy()[0]
    extent = plot_extent(torch.from_numpy(np.concatenate([real, mesh.reshape(-1, 2)])))
    frame = Frame(0, real, out[None], np.zeros((1, 2), np.float32), np.zeros((2, 2), np.float32), extent, mesh, "bce")
    fig = frame_figure(frame, ("Real points", "Latent mesh"), height=360)
    fig.add_trace(go.Scatter(x=[out[0]], y=[out[1]], mode="markers", marker={"size": 14, "color": FAKE_COLOR},
                             name="G(z)"))
    fig.update_layout(title="G(z) in the data plane")
    return fig


@st.cache_resource(show_spinner=False, max_entries=4)
def _real_points(name: str, num_samples: int, seed: int) -> np.ndarray:
    data = load_dataset(DataConfig(name=name, num_samples=num_samples, seed=seed))
    return data.points[:REAL_SHOWN].numpy()


def explore_points(loaded: LoadedGenerator) -> None:
    """Explore a 2-D run: a latent point moved by a click on the latent plane or by a slider pair, and its output,
    with the mesh of the latent grid bent by G. Dragging the point needs a custom component: Streamlit's charts
    report clicks and selections, not drags."""
    d = loaded.config.data
    real = _real_points(d.name, d.num_samples, d.seed)
    c1, c2 = st.columns(2)
    zx = c1.slider("z[0]", -MESH_RANGE, MESH_RANGE, 0.0, SLIDER_STEP, key="explore_points_z0")
    zy = c2.slider("z[1]", -MESH_RANGE, MESH_RANGE, 0.0, SLIDER_STEP, key="explore_points_z1")
    z = torch.zeros(loaded.generator.latent_dim)
    z[0], z[1] = zx, zy
    left, right = st.columns(2)
    left.plotly_chart(latent_figure(z.numpy()), key=LATENT_CHART, on_select=_move_to_click, selection_mode="points")
    right.plotly_chart(output_figure(loaded, z, real), key="explore_points_output")
    out = loaded.points(z[None])[0]
    st.caption(f"G({zx:+.2f}, {zy:+.2f}) = ({float(out[0]):+.3f}, {float(out[1]):+.3f})"
               + (" · the other latent dimensions are 0" if loaded.generator.latent_dim > 2 else ""))
