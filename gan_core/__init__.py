"""GAN Workbench engine: data sets, models, losses, trainer, checkpoints and jobs (no Streamlit here)."""

__version__ = "0.1.0"
