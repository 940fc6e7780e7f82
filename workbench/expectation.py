"""The Train page's expectation before Start: the recipe's steps to recognisable samples at this machine's speed."""

from __future__ import annotations

import logging
import os
import threading

import streamlit as st

from gan_core.config import RunConfig
from gan_core.expectation import (
    Speed,
    cached_probe,
    expectation_line,
    last_run_speed,
    probe_key,
    probe_speed,
    recognisable_after,
)
from gan_core.runs.folders import list_runs

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0  # how often the line looks for the probe's result while it runs
PROBE_ENV = "GAN_WORKBENCH_SPEED_PROBE"  # "0": never probe (the tests' default: each would train for seconds)


class Probe:
    """One speed probe in a daemon thread (a few seconds of training on random images), its result once done."""

    def __init__(self, cfg: RunConfig) -> None:
        self.speed: Speed | None = None
        self.thread = threading.Thread(target=self._main, args=(cfg,), name="speed-probe", daemon=True)
        self.thread.start()

    def _main(self, cfg: RunConfig) -> None:
        try:
            self.speed = probe_speed(cfg)
        except Exception:  # noqa: BLE001 - no figure is better than a broken page; the run measures it anyway
            log.exception("speed probe failed")

    @property
    def running(self) -> bool:
        return self.thread.is_alive()


@st.cache_resource(show_spinner=False)
def _probes() -> dict[str, Probe]:
    """The probes of this process by recipe key: each recipe is probed once per machine (then read from disk)."""
    return {}


def wait_for_probes(timeout: float = 30.0) -> None:
    """Before a run starts: a probe still timing would share the CPU and torch's global random stream with it."""
    for probe in list(_probes().values()):
        probe.thread.join(timeout)


def expectation(cfg: RunConfig, training: bool) -> tuple[str | None, bool]:
    """(the line to show or None, whether a probe is measuring now). The speed comes from the newest run of this
    recipe here, else from a probe made earlier, else from a probe started now (never while a run trains here)."""
    if recognisable_after(cfg.preset) is None:
        return None, False
    speed = last_run_speed(cfg, ((r.name, r.meta) for r in list_runs())) or cached_probe(cfg)
    if speed is not None:
        return expectation_line(cfg, speed), False
    probes, key = _probes(), probe_key(cfg)
    if key not in probes and not training and os.environ.get(PROBE_ENV) != "0":
        probes[key] = Probe(cfg)
    probe = probes.get(key)
    if probe is not None and probe.speed is not None:
        return expectation_line(cfg, probe.speed), False
    measuring = probe is not None and probe.running
    return expectation_line(cfg, None, measuring), measuring
