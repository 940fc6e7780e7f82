"""Score a saved generator against its real data set: quality (Fréchet distance, KID), coverage, diversity."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..data import STATS_CACHE, ImageData, Progress, data_root, load_dataset
from ..latent import default_labels, sample_latents
from ..limits import EVAL_COUNT, check_memory, sampling_bytes
from ..metric_names import COPY_REFERENCE, COVERAGE_CLASSES, DIVERSITY, STEP
from ..runs.generator import LoadedGenerator, load_generator
from ..sampling import in_chunks
from . import QualityScorer, diversity
from .modes import SCORE_SAMPLES, mode_scores
from .readers import reader_panel
from .stacked import panel_scores, read_panel

DEFAULT_NUM = 1000  # images scored when no count is given
NUM = "num"  # the report's sample count (not a training metric)


def evaluate_checkpoint(path: str | Path, num: int | None = None, data_dir: str | None = None, seed: int = 0,
                        progress: Progress | None = None) -> dict[str, float]:
    """Load the checkpoint's generator and real data set, draw num samples, and return the scores (step, num,
    coverage/classes and copy_reference as integers; quality, kid, the other coverage figures, precision, recall,
    copies, copy_threshold and diversity as floats; stacked MNIST adds modes/covered and modes/kl, the mean of the
    reader panel's, with each reader's modes/kl/<reader>).
    progress(fraction, message) hears about the long steps: loading the set, real statistics, the classifiers."""
    lg = load_generator(path)
    if num is None:  # the papers' 2,500 points for a point run; 1,000 images otherwise
        num = SCORE_SAMPLES if lg.is_points else DEFAULT_NUM
    EVAL_COUNT.check("--num", num)
    shape = tuple(lg.state["image_shape"])
    check_memory(f"Scoring {num:,} samples", sampling_bytes(num, shape, lg.generator.latent_dim),
                 fix="score fewer samples")
    data_cfg = lg.config.data
    if data_dir:
        data_cfg.data_dir = data_dir
    real = load_dataset(data_cfg, progress)
    if lg.is_points:
        return _evaluate_points(lg, real, num, seed)
    g = lg.generator
    # The classes in turn (balanced, as the real sets are and as the training's scores draw them).
    fake = in_chunks(lg.images, sample_latents(num, g.latent_dim, seed), default_labels(g, num))  # num x C x H x W
    scores: dict[str, float] = {STEP: lg.step, NUM: num}  # counts stay integers in the JSON
    scores.update(QualityScorer(real, data_root() / STATS_CACHE, progress=progress).score(fake))
    scores[DIVERSITY] = diversity(fake)
    for count in (COVERAGE_CLASSES, COPY_REFERENCE):  # counts (classes, images searched): integers in the JSON
        if count in scores:
            scores[count] = round(scores[count])
    if data_cfg.name == "stacked_mnist":  # each channel read by a panel of digit readers trained on the MNIST at hand
        mnist = load_dataset(dataclasses.replace(data_cfg, name="mnist"), progress)
        scores.update(panel_scores(read_panel(fake, reader_panel(mnist, data_root() / STATS_CACHE, progress))))
    return scores


def _evaluate_points(lg: LoadedGenerator, real: ImageData, num: int, seed: int) -> dict[str, float]:
    """A 2-D point generator: the mode metrics (PacGAN/VEEGAN protocol) of num points, where the set has modes."""
    scores: dict[str, float] = {STEP: lg.step, NUM: num}
    if real.modes is not None:
        # The latents of `sample --num num --seed seed`: eval scores exactly the points sample writes.
        z = sample_latents(num, lg.generator.latent_dim, seed)  # num x latent (2-D latents: small even at 100,000)
        points = in_chunks(lg.points, z)  # num x 2, in the chunks `sample` draws
        scores.update(mode_scores(points, real.modes, real.mode_std))
    return scores
