"""Stable metric names: every writer (trainer, scorers, health checks) and reader (CLI, UI, runs) uses these."""

from __future__ import annotations

STEP = "step"
EPOCH = "epoch"
TIME = "time"
LOSS_D = "loss/D"
LOSS_G = "loss/G"
D_REAL = "D(x)"  # mean probability D gives real images (a critic's raw score for WGAN-GP)
D_FAKE = "D(G(z))"  # the same for generated images
GRAD_D = "grad/D"
GRAD_G = "grad/G"
IMAGES_PER_SECOND = "img/s"
QUALITY = "quality"  # Fréchet distance in random features: lower is better
KID = "kid"
DIVERSITY = "diversity"  # pixel diversity of the fixed-noise grid
COVERAGE_CLASSES = "coverage/classes"  # classes holding a fair share of the samples (labeled sets)
COVERAGE_KL = "coverage/kl"  # KL(generated || real) of the predicted-label histograms
COVERAGE_CONFIDENCE = "coverage/confidence"  # mean top-class probability of the samples
COVERAGE_RECOGNISABLE = "coverage/recognisable"  # share of samples the classifier names with p >= RECOGNISABLE_P
MODES_COVERED = "modes/covered"  # 2-D Gaussian mixtures: modes holding a high-quality point (PacGAN, VEEGAN)
MODES_HQ = "modes/hq"  # % of points within 3 std of their nearest mode
MODES_RKL = "modes/rkl"  # reverse KL of the high-quality points' mode histogram to uniform
STACKED_KL = "modes/kl"  # stacked MNIST: KL of the digit triples' histogram to uniform over 1,000 modes
PRECISION = "precision"  # share of samples inside the real images' k-NN manifold: samples that look real
RECALL = "recall"  # share of real images inside the samples' k-NN manifold: real variety covered
COPIES = "copies"  # share of samples closer to a training image than the copy threshold
COPY_THRESHOLD = "copy_threshold"  # that threshold (RMS pixel distance), reported with the rate; not charted
COPY_REFERENCE = "copy_reference"  # training images searched for copies (all of a small set); not charted

STEP_METRICS = (LOSS_D, LOSS_G, D_REAL, D_FAKE)  # per-step values, in the order the trainer's device buffer holds them
LOSS_KEYS = (LOSS_D, LOSS_G)
PROB_KEYS = (D_REAL, D_FAKE)
GRAD_KEYS = (GRAD_D, GRAD_G)
QUALITY_PREFIXES = (QUALITY, KID, "coverage", PRECISION, RECALL, COPIES, "modes")  # quality-score entries (charted)
# The other quality-score entries are better when higher.
LOWER_IS_BETTER = (QUALITY, KID, COVERAGE_KL, COPIES, MODES_RKL, STACKED_KL)
