"""Score a saved generator against its real data set: quality (Fréchet distance, KID), coverage, diversity."""

from __future__ import annotations

from pathlib import Path

from ..data import Progress, data_root, load_dataset
from ..latent import default_labels, sample_latents
from ..limits import EVAL_COUNT, check_memory, sampling_bytes
from ..metric_names import COPY_REFERENCE, COVERAGE_CLASSES, DIVERSITY, STEP
from ..runs.generator import load_generator
from ..sampling import in_chunks
from . import QualityScorer, diversity

NUM = "num"  # the report's sample count (not a training metric)


def evaluate_checkpoint(path: str | Path, num: int = 1000, data_dir: str | None = None, seed: int = 0,
                        progress: Progress | None = None) -> dict[str, float]:
    """Load the checkpoint's generator and real data set, draw num samples, and return the scores (step, num,
    coverage/classes and copy_reference as integers; quality, kid, the other coverage figures, precision, recall,
    copies, copy_threshold and diversity as floats).
    progress(fraction, message) hears about the long steps: loading the set, real statistics, the classifier."""
    EVAL_COUNT.check("--num", num)
    lg = load_generator(path)
    shape = tuple(lg.state["image_shape"])
    check_memory(f"Scoring {num:,} samples", sampling_bytes(num, shape, lg.generator.latent_dim),
                 fix="score fewer samples")
    data_cfg = lg.config.data
    if data_dir:
        data_cfg.data_dir = data_dir
    real = load_dataset(data_cfg, progress)
    g = lg.generator
    # The classes in turn (balanced, as the real sets are and as the training's scores draw them).
    fake = in_chunks(lg.images, sample_latents(num, g.latent_dim, seed), default_labels(g, num))  # num x C x H x W
    scores: dict[str, float] = {STEP: lg.step, NUM: num}  # counts stay integers in the JSON
    scores.update(QualityScorer(real, data_root() / "stats", progress=progress).score(fake))
    scores[DIVERSITY] = diversity(fake)
    for count in (COVERAGE_CLASSES, COPY_REFERENCE):  # counts (classes, images searched): integers in the JSON
        if count in scores:
            scores[count] = round(scores[count])
    return scores
