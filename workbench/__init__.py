"""The app's UI package: the one place that imports both streamlit and gan_core (pages import only this)."""

import gan_core  # noqa: F401 - first: it sets OpenMP's passive waiting before anything here loads torch
