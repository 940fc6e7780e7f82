"""GAN Workbench engine: data sets, models, losses, trainer, checkpoints and jobs (no Streamlit here)."""

import os

# OpenMP threads that sleep instead of spinning while they wait: training shares the CPU with the UI (and, on a
# laptop, everything else), and spinning threads made 2-thread conv training 3-10x slower whenever another process
# took a core (bench/README.md). Only effective when gan_core is imported before torch; a user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
