"""The process-wide job registry (@st.cache_resource) and run control: start, quick start, resume, the watched run."""

from __future__ import annotations

import os

import streamlit as st

from gan_core.config import RunConfig
from gan_core.device import describe_device
from gan_core.errors import CheckpointError, ConfigError
from gan_core.job import JobRegistry, TrainingJob
from gan_core.presets import DEFAULT_PRESET, preset_config
from gan_core.runs.checkpoints import latest_valid_checkpoint
from gan_core.runs.folders import RunInfo, list_runs, new_run_name, run_path
from gan_core.runs.liveness import check_not_written_elsewhere, read_meta
from workbench.data import data_store
from workbench.expectation import wait_for_probes

# Seconds between live-panel refreshes; an env var so tests and slow machines can change it without code.
POLL_SECONDS = float(os.environ.get("GAN_WORKBENCH_POLL_SECONDS", "1.0"))
CHART_SECONDS = max(2 * POLL_SECONDS, 2.0)  # the charts cost the most to send and change once per logged step
# Steps between sample grids of the Home page's quick-start run (the preset's when unset); the browser test sets it
# low so that grids change within seconds on a slow CPU.
QUICK_SAMPLE_EVERY = int(os.environ.get("GAN_WORKBENCH_SAMPLE_EVERY") or 0)
RUN_KEY = "train_run"  # session key of the run this browser session watches on the Train page


@st.cache_resource(show_spinner=False)
def job_registry() -> JobRegistry:
    """The one registry of training jobs: it survives reruns, page changes, reloads and second tabs."""
    return JobRegistry()


def start_training(cfg: RunConfig, name: str) -> TrainingJob:
    """Start a new run in a fresh folder (UserError when the name is bad or taken, or another run is training)."""
    path = run_path(name.strip())
    # The run that trains is what stands in the way, said first: a second tab opened in the same second proposes the
    # same timestamped name, so its folder already exists too.
    job_registry().refuse_if_busy()
    if path.exists():
        raise ConfigError(f"A run named '{path.name}' already exists: choose another name, or resume it on the "
                          "Runs page.")
    wait_for_probes()  # a speed probe still timing would share the CPU and torch's global random stream
    # Reuse the data set the Data page loaded; otherwise the training thread loads it (progress in the live panel).
    job = job_registry().start(cfg, path, data=data_store().get(cfg.data))
    st.session_state[RUN_KEY] = path.name
    return job


def quick_start() -> TrainingJob:
    """The Home page's one button: the embedded shapes data set with the tuned default recipe."""
    cfg = preset_config(DEFAULT_PRESET)
    if QUICK_SAMPLE_EVERY > 0:
        cfg.train.sample_every = QUICK_SAMPLE_EVERY
    return start_training(cfg, new_run_name(cfg))


def resume_training(run: RunInfo, total_steps: int) -> TrainingJob:
    """Continue a stopped (or finished) run from its newest valid checkpoint up to total_steps, in its own folder;
    refused while another process trains in that folder."""
    check_not_written_elsewhere(run.name, read_meta(run.path))
    found = latest_valid_checkpoint(run.path)
    if found is None:
        raise CheckpointError(f"Run '{run.name}' has no valid checkpoint to resume from: start a new run instead.")
    path, state = found
    if total_steps <= int(state["step"]):
        raise ConfigError(f"The checkpoint is at step {state['step']}: choose a total above that to train further.")
    cfg = RunConfig.from_dict(state["config"])
    cfg.train.steps, cfg.train.epochs = int(total_steps), None
    job = job_registry().start(cfg.validate(), run.path, resume_from=path, data=data_store().get(cfg.data))
    st.session_state[RUN_KEY] = run.name
    return job


def last_run_name() -> str | None:
    """The newest run folder (the Train page shows it after a reload forgot the session's run), else None."""
    runs = list_runs()
    return runs[0].name if runs else None


def continue_run(name: str) -> TrainingJob:
    """Train run `name` further: to its total when it stopped early, else for as many steps again."""
    run = RunInfo(name, run_path(name), read_meta(run_path(name)))
    step, total = int(run.meta.get("step") or 0), int(run.meta.get("total_steps") or 0)
    return resume_training(run, total if step < total else step + max(total, 1))


def start_again(name: str) -> TrainingJob:
    """A new run, in a new folder, with the settings run `name` was trained with."""
    found = latest_valid_checkpoint(run_path(name))
    if found is None:
        raise CheckpointError(f"Run '{name}' has no valid checkpoint to take its settings from: start a new run.")
    cfg = RunConfig.from_dict(found[1]["config"]).validate()
    return start_training(cfg, new_run_name(cfg))


def watched_job() -> TrainingJob | None:
    """The job to show: the one training now (perhaps started in another tab), else this session's last one."""
    registry = job_registry()
    active = registry.active()
    if active is not None:
        # Remember it: a session that never started it (a reload, a second tab) still finds it once its thread ends.
        st.session_state[RUN_KEY] = active.run_dir.name
        return active
    name = st.session_state.get(RUN_KEY)
    return registry.get(name) if name else None


def watched_run_name() -> str | None:
    """The run this session last watched on the Train page (Explore starts from it)."""
    return st.session_state.get(RUN_KEY)


def live_job(run_name: str) -> TrainingJob | None:
    """The job of run_name while its thread is alive, else None."""
    job = job_registry().get(run_name)
    return job if job is not None and job.alive else None


def device_line() -> str:
    """The device training would use, in words (never raises: a broken driver must not take a page down)."""
    try:
        return describe_device()
    except Exception as e:  # noqa: BLE001 - a broken driver must not take the Home page down
        return f"device unknown ({type(e).__name__})"
