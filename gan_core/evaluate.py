"""Score a saved generator against its real data set: quality (Fréchet distance, KID), coverage, diversity."""

from __future__ import annotations

from pathlib import Path

import torch

from .data import Progress, data_root, load_dataset
from .errors import UserError
from .latent import load_generator, sample_latents
from .metric_names import DIVERSITY, STEP
from .metrics import QualityScorer, diversity

NUM = "num"  # the report's sample count (not a training metric)


def evaluate_checkpoint(path: str | Path, num: int = 1000, data_dir: str | None = None, seed: int = 0,
                        progress: Progress | None = None) -> dict[str, float]:
    """Load the checkpoint's generator and real data set, draw num samples, and return the scores (step and num as
    integers; quality, kid, coverage/..., diversity as floats). progress(fraction, message) hears about the long
    steps: loading the set, real statistics, the classifier."""
    if num < 2:
        raise UserError("--num must be at least 2 to compute a quality score.")
    lg = load_generator(path)
    data_cfg = lg.config.data
    if data_dir:
        data_cfg.data_dir = data_dir
    real = load_dataset(data_cfg, progress)
    g = lg.generator
    chunks = []
    for start in range(0, num, 500):  # bounded memory for large num
        k = min(500, num - start)
        z = sample_latents(k, g.latent_dim, seed + start)
        labels = (torch.randint(g.num_classes, (k,), generator=torch.Generator().manual_seed(seed + start))
                  if g.num_classes else None)
        chunks.append(lg.images(z, labels))
    fake = torch.cat(chunks)  # num x C x H x W uint8
    scores: dict[str, float] = {STEP: lg.step, NUM: num}  # counts stay integers in the JSON
    scores.update(QualityScorer(real, data_root() / "stats", progress=progress).score(fake))
    scores[DIVERSITY] = diversity(fake)
    return scores
