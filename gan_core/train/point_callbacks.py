"""The callbacks of a 2-D point run: a scatter plot as its 'grid', the mode scores with the collapse alert, and the
playground's live frames."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from ..config import RunConfig
from ..data import ImageData
from ..metric_names import MODES_COVERED, STEP
from ..metrics.modes import SCORE_SAMPLES, collapse_message, mode_scores
from .callbacks import SCORED, Callback, FixedNoiseGrid
from .playground import FRAME_POINTS, Frame, make_frame, plot_extent
from .state import RunState

SCATTER_SIDE = 192  # pixels of the scatter 'grid'
REAL_SHOWN = 1000  # real points drawn in the scatter and the playground
FRAME = "frame"  # event: trainer.latest_frame holds a new playground frame


@torch.no_grad()
def sample_points(g: torch.nn.Module, n: int, rng: torch.Generator) -> torch.Tensor:
    """n x 2 points from G in eval mode, latents drawn from `rng` only (the training's streams stay untouched)."""
    was = g.training
    g.eval()
    try:
        z = torch.randn(n, g.latent_dim, device=rng.device, generator=rng)  # n x latent
        return g(z).reshape(n, 2).float().cpu()
    finally:
        g.train(was)


def render_scatter(real: np.ndarray, fake: np.ndarray, extent: tuple[float, float, float, float],
                   side: int = SCATTER_SIDE) -> torch.Tensor:
    """uint8 1 x 3 x side x side: real points grey, generated points blue on white, y upwards."""
    canvas = np.full((side, side, 3), 255, np.uint8)
    for pts, color in ((real, (170, 170, 170)), (fake, (31, 119, 180))):
        col = ((pts[:, 0] - extent[0]) / (extent[1] - extent[0]) * (side - 1)).round().astype(int)
        row = ((extent[3] - pts[:, 1]) / (extent[3] - extent[2]) * (side - 1)).round().astype(int)
        inside = (col >= 0) & (col < side - 1) & (row >= 0) & (row < side - 1)
        for dr in (0, 1):  # 2 x 2 dots
            for dc in (0, 1):
                canvas[row[inside] + dr, col[inside] + dc] = color
    return torch.from_numpy(canvas).permute(2, 0, 1).unsqueeze(0).contiguous()


class PointGrid(FixedNoiseGrid):
    """The fixed-noise 'grid' of a point run: a scatter of the real points and G's points on the fixed noise, at the
    grid's cadence (saved, previewed, shown in Runs and TensorBoard like any grid)."""

    def __init__(self, every: int, data: ImageData) -> None:
        super().__init__(every)
        self.real = data.points[:REAL_SHOWN].numpy()
        self.extent = plot_extent(data.points)

    def render(self, trainer: RunState) -> torch.Tensor:
        g = trainer.sampler
        was = g.training
        g.eval()
        try:
            with torch.no_grad():
                fake = g(trainer.fixed_z).reshape(-1, 2).float().cpu().numpy()
        finally:
            g.train(was)
        return render_scatter(self.real, fake, self.extent)


class ModeScore(Callback):
    """Every `every` steps and at the last: the 2-D metrics of SCORE_SAMPLES fresh points (seeded by (seed, step)),
    as a quality-score entry; an alert in plain words when modes are lost, again only after all came back."""

    def __init__(self, every: int, data: ImageData, seed: int = 0, num: int = SCORE_SAMPLES) -> None:
        assert data.modes is not None
        self.every, self.seed, self.num = every, seed, num
        self.centres, self.std = data.modes, data.mode_std
        self.armed = True

    def on_step(self, trainer: RunState, events: set[str]) -> None:
        step = trainer.step_count
        if not self.every or (step % self.every and step != trainer.total_steps):
            return
        self.measure(trainer)
        events.add(SCORED)

    def measure(self, trainer: RunState) -> dict[str, float]:
        g = trainer.sampler
        rng = torch.Generator(next(g.parameters()).device).manual_seed(self.seed * 1_000_003 + trainer.step_count)
        entry: dict[str, float] = {STEP: trainer.step_count}
        entry.update(mode_scores(sample_points(g, self.num, rng), self.centres, self.std))
        trainer.report(entry)
        total, covered = self.centres.shape[0], int(entry[MODES_COVERED])
        if covered < total and self.armed:
            trainer.add_alert("mode_collapse", trainer.step_count, collapse_message(covered, total))
            self.armed = False
        elif covered == total:
            self.armed = True
        return entry


class PlaygroundFrame(Callback):
    """Every `seconds` of wall time, at the first and the last step: a playground frame of G and D on
    trainer.latest_frame, with the FRAME event (the job publishes it; a page draws it)."""

    def __init__(self, data: ImageData, loss: str, seed: int = 0, seconds: float = 0.5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.real = data.points[:REAL_SHOWN]
        self.extent = plot_extent(data.points)
        self.loss, self.seconds, self.clock = loss, seconds, clock
        self.seed = seed
        self.z: torch.Tensor | None = None
        self.last = -float("inf")

    def on_step(self, trainer: RunState, events: set[str]) -> None:
        now = self.clock()
        if now - self.last < self.seconds and trainer.step_count != trainer.total_steps:
            return
        self.last = now
        if self.z is None:  # the playground's own fixed noise, drawn from its own stream
            gen = torch.Generator().manual_seed(self.seed + 7)
            self.z = torch.randn(FRAME_POINTS, trainer.G.latent_dim, generator=gen)
        trainer.latest_frame = make_frame(trainer.G, trainer.D, self.loss, self.real, self.z, trainer.step_count,
                                          self.extent)
        events.add(FRAME)


def point_callbacks(config: RunConfig, data: ImageData) -> list[Callback]:
    """A point run's callbacks: scatter grid, playground frames, and the mode scores where the set has modes."""
    t = config.train
    out: list[Callback] = [PointGrid(t.sample_every, data), PlaygroundFrame(data, t.loss, t.seed)]
    if data.modes is not None:
        out.append(ModeScore(t.quality_every, data, t.seed))
    return out


__all__ = ["FRAME", "Frame", "ModeScore", "PlaygroundFrame", "PointGrid", "point_callbacks", "render_scatter",
           "sample_points"]
