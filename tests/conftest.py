"""Shared fixtures: a temporary checkpoints folder and tiny, fast run configurations (CPU, no network)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import torch

from gan_core.config import DataConfig, ModelConfig, RunConfig, TrainConfig

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

# Small models run faster on one thread, and tests must not fight each other for the 2 cores.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
MNIST_DIR = REPO.parent / "shared" / "data" / "mnist"


SERVER_LOG_TAIL = 6000  # characters of a failed browser test's server log in its report

# The longest modules (seconds of one worker each, a 2-core Xeon), run first: pytest-xdist hands out a module at a
# time (--dist loadfile), and a long module handed out last keeps one core busy while the other has nothing left.
SLOW_FIRST = (
    "train/test_distributed.py",  # 130 s: real torchrun launches
    "train/test_alerts.py",  # 120 s: real runs that must collapse, or not
    "metrics/test_metrics.py",  # 90 s: the quality score on shapes and real MNIST
    "e2e/test_playground.py",  # 70 s each for the browser walks
    "e2e/test_browser.py",
    "e2e/test_tabs.py",
    "e2e/test_newcomer.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """SLOW_FIRST's modules first, in its order; the rest as collected (with --no-loadscope-reorder, pytest.ini)."""
    first = {REPO / "tests" / path: i for i, path in enumerate(SLOW_FIRST)}
    if gone := [str(path) for path in first if not path.is_file()]:  # a rename must not drop a module silently
        raise pytest.UsageError(f"tests/conftest.py: SLOW_FIRST names modules that are gone: {gone}")
    items.sort(key=lambda item: first.get(item.path, len(first)))  # stable: a module's tests keep their order


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Generator[None, object, object]:
    """A failed browser test (one with the e2e `server` fixture) reports the tail of its Streamlit server's log:
    a flaky failure in CI otherwise leaves the server's side of it nowhere."""
    report = yield
    server = getattr(item, "funcargs", {}).get("server")
    if report.failed and hasattr(server, "log"):
        report.sections.append(("streamlit server log (tail)", server.log()[-SERVER_LOG_TAIL:] or "(empty)"))
    return report


@pytest.fixture(scope="session")
def _shared_caches(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The data folder's content-keyed caches, one per session: the quality score's statistics and classifier
    (stats/, keyed by the real images' hash) and the drawn shapes (shapes/, keyed by count, size, mode and seed).
    A scored tiny run otherwise trains the same coverage classifier again in every test (seconds each). Under
    pytest-xdist the workers share them (their temporary folders lie side by side; caches are written atomically)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = tmp_path_factory.getbasetemp().parent / "caches"
        root.mkdir(exist_ok=True)
    else:
        root = tmp_path_factory.mktemp("caches")
    return {name: root / name for name in ("stats", "shapes")}


@pytest.fixture(autouse=True)
def _no_scorer_build_left() -> Iterator[None]:
    """No quality-score worker outlives its test by more than a few seconds: a stopped run's scorer build gives up at
    its next progress report (QualityScore.on_end), where a whole build takes 20 s and more. Builds that trained on
    took a core from the tests after them (in one CI run four at once, and one crashed its worker in BatchNorm)."""
    yield
    workers = [t for t in threading.enumerate() if t.name.startswith("quality")]
    for worker in workers:
        worker.join(10)
    assert not [t.name for t in workers if t.is_alive()], "a quality-score worker was still running 10 s after its test"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _shared_caches: dict[str, Path]) -> None:
    """Runs and downloaded data go to temporary folders, never the repo's; the caches in it are shared. tmp_path
    holds data/ from the start: a test that lists a folder lists one of its own."""
    monkeypatch.setenv("GAN_WORKBENCH_CHECKPOINTS", str(tmp_path / "checkpoints"))
    monkeypatch.setenv("GAN_WORKBENCH_DATA", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    for name, shared in _shared_caches.items():
        shared.mkdir(exist_ok=True)
        (tmp_path / "data" / name).symlink_to(shared, target_is_directory=True)
    monkeypatch.setenv("GAN_WORKBENCH_SPEED_PROBE", "0")  # the Train page's speed probe: only where a test asks
    monkeypatch.setenv("GAN_WORKBENCH_EXAMPLES", str(tmp_path / "examples"))  # no shipped example unless asked


def tiny_config(arch: str = "mlp", loss: str = "bce", steps: int = 20, size: int = 16, conditional: bool = False,
                **train: object) -> RunConfig:
    """A seconds-long run on 128 synthetic shapes (class-conditional G and D with conditional=True)."""
    t = TrainConfig(loss=loss, steps=steps, batch_size=16, log_every=5, sample_every=10, checkpoint_every=10,
                    quality_every=0, num_fixed=16, device="cpu")
    for k, v in train.items():
        setattr(t, k, v)
    return RunConfig(DataConfig(name="shapes", num_samples=128, image_size=size),
                     ModelConfig(arch=arch, latent_dim=16, width=8, conditional=conditional), t).validate()


@pytest.fixture
def tiny() -> RunConfig:
    return tiny_config()


# ---- Streamlit app tests (tests/test_app_*.py) -----------------------------------------------------------------------
APP = str(REPO / "app.py")


def open_page(page: str, title: str, data: dict | None = None) -> AppTest:
    """An AppTest session of the app switched to page (e.g. "pages/2_Train.py"), checked to show `title`.
    data: the Data page's stored choice (what it keeps after "Load and preview"), or None."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=30)
    if data is not None:
        at.session_state["data_config"] = data
    at.run()
    at.switch_page(page).run()
    assert not at.exception and at.title[0].value == title, at.exception
    return at


@pytest.fixture
def app_env() -> Iterator[None]:
    """Fresh process-wide caches (job registry, data store); every training thread stopped and joined afterwards."""
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    from workbench.jobs import job_registry

    registry = job_registry()
    jobs = list(registry.jobs.values())
    for job in jobs:
        job.stop()
    stuck = [job.run_dir.name for job in jobs if not job.join(timeout=60)]
    st.cache_resource.clear()
    st.cache_data.clear()
    assert not stuck, f"training threads did not stop: {stuck}"


def make_run(name: str, steps: int = 20, conditional: bool = False, stop_at: int | None = None,
             **train: object) -> Path:
    """A finished (or, with stop_at, stopped) tiny run on disk: grids, checkpoint, meta, in the temporary folder."""
    from gan_core.runs.folders import RunWriter, run_path
    from gan_core.train.trainer import Trainer

    cfg = tiny_config(steps=steps, conditional=conditional, **train)
    trainer = Trainer(cfg)
    writer = RunWriter(run_path(name))
    writer.start(trainer)
    reason = trainer.run(lambda: stop_at is not None and trainer.step_count >= stop_at, writer.on_step)
    writer.finish(trainer, "stopped" if reason == "stopped" else "done")
    return writer.dir


class Exploit:
    """A pickle payload: unpickling it creates the marker file, proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def explode_discriminator_at(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    """Trainer.step multiplies D's weights by 1e20 at `step`: from then on the losses blow up, as a diverging
    learning rate makes them."""
    from gan_core.train.trainer import Trainer

    real_step = Trainer.step

    def exploding_step(self: Trainer) -> None:
        if self.step_count == step:
            with torch.no_grad():
                for p in self.D.parameters():
                    p.mul_(1e20)
        real_step(self)

    monkeypatch.setattr(Trainer, "step", exploding_step)


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    """Poll predicate (a training thread runs meanwhile) until true; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def tiny_data_config() -> dict:
    """The Data page's stored choice for UI-driven runs: 128 triangles at 16x16 (seconds to train on CPU)."""
    import dataclasses

    return dataclasses.asdict(DataConfig(name="shapes", shapes_mode="triangles", num_samples=128, image_size=16))


BATCHNORM_WGAN = "wgan-batchnorm"  # a recipe that breaks the WGAN-GP rule: see the fixture below


@pytest.fixture
def batchnorm_wgan_recipe(monkeypatch: pytest.MonkeyPatch) -> str:
    """Adds a seconds-long recipe whose critic has BatchNorm under the WGAN-GP loss (RunConfig.validate refuses it;
    no built-in recipe or widget can ask for it, so this is how the CLI and the Train page meet the rule)."""
    from gan_core.presets import PRESETS, Preset

    monkeypatch.setitem(PRESETS, BATCHNORM_WGAN, Preset(
        "WGAN-GP with a BatchNorm critic (invalid).",
        {"name": "shapes", "num_samples": 128, "image_size": 16},
        {"arch": "dcgan", "latent_dim": 8, "width": 8, "d_norm": "batch"},
        {"loss": "wgan-gp", "batch_size": 16, "steps": 4, "quality_every": 0, "device": "cpu"}))
    return BATCHNORM_WGAN
