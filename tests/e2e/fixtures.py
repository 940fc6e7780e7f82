"""Browser-test fixtures (imported by each e2e module): a `streamlit run app.py` server per module, Debian chromium.

Needs Debian's chromium (/usr/bin/chromium) and the playwright python package (never `playwright install`): the
e2e modules mark themselves skipped, with the reason (MISSING), without them.
Screenshots go to a temporary folder and, when
$GAN_WORKBENCH_SCREENSHOTS names a folder, there too (that is how docs/screenshots/ is made).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS_ENV, VIEWPORT, small_png  # noqa: E402
from streamlit_server import StreamlitServer  # noqa: E402

if not os.path.exists(CHROMIUM):
    MISSING = f"{CHROMIUM} not found (apt-get install -y chromium)"
elif importlib.util.find_spec("playwright") is None:
    MISSING = "the playwright python package is not installed (pip install -r requirements-dev.txt)"
else:
    MISSING = ""


NEEDS_BROWSER = pytest.mark.skipif(bool(MISSING), reason=MISSING or "browser available")


def _docs_root(module: str) -> Path:
    """The server's folder for a docs run: the Data page shows it, so a plausible path rather than pytest's."""
    root = Path(tempfile.gettempdir()) / f"gan-workbench-{Path(module).stem.removeprefix('test_')}"
    mark = root / ".made-by-the-docs-screenshots"
    if root.exists():  # only ever remove what an earlier docs run made
        assert mark.exists(), f"{root} exists and was not made by a docs run: move it away first"
        shutil.rmtree(root)
    root.mkdir()
    mark.touch()
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[StreamlitServer]:
    docs = bool(os.environ.get(SCREENSHOTS_ENV))
    root = _docs_root(request.module.__file__) if docs else tmp_path_factory.mktemp("e2e_server")
    env = {
        "GAN_WORKBENCH_CHECKPOINTS": str(root / "checkpoints"),
        "GAN_WORKBENCH_DATA": str(root / "data"),
        "GAN_WORKBENCH_POLL_SECONDS": "0.5",  # the live panel polls twice a second
        "GAN_WORKBENCH_SAMPLE_EVERY": "5",  # the Home run draws a grid every 5 steps (not 200): grids change fast
        "GAN_WORKBENCH_SPEED_PROBE": "0",  # no 2 s speed probe on the Train page: these tests time training, not it
    }
    srv = StreamlitServer(root / "server.log", env)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        pw.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Callable[[object, str], Path]:
    """save(page, name): a viewport PNG into a temporary folder, and into $GAN_WORKBENCH_SCREENSHOTS when set."""
    tmp = tmp_path_factory.mktemp("screenshots")
    extra = os.environ.get(SCREENSHOTS_ENV)

    def save(page, name: str) -> Path:
        page.mouse.move(VIEWPORT["width"] - 5, VIEWPORT["height"] - 5)  # no hover toolbar over an image
        time.sleep(1.0)  # let the last rerun finish painting (plotly animates, images decode)
        png = page.screenshot()
        path = tmp / f"{name}.png"
        path.write_bytes(png)
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            (Path(extra) / f"{name}.png").write_bytes(small_png(png))
        return path

    return save


