"""GAN Workbench engine: data sets, models, losses, trainer, checkpoints and jobs (no Streamlit here)."""

import os

# OpenMP (torch's libgomp) threads spin about 0.3 ms for the next parallel region, then sleep. Sleeping at once
# (OMP_WAIT_POLICY=PASSIVE, before session 14) made every small operator of a step wait for a thread to wake: 2-thread
# steps ran at 0.5-0.7x of spinning ones and slower than 1 thread; libgomp's default spin (about 3 ms) holds a core
# long after training stops. Where another process takes a core, 2 threads lose either way and the Trainer times its
# own steps to pick 1 (device.faster_threads; bench/README.md, "Threads"). Only effective when gan_core is imported
# before torch; a user's OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "30000")

__version__ = "0.1.0"
