"""Issue #20 in a real browser: a reload keeps 'native' and names the upload by its files (item 1); a run a CLI process
starts is listed on an open Runs page, named in the sidebar and shown with its live previews (item 5); after it stopped
a reload shows it on Train with Continue (item 6)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from browser import (
    TIMEOUT_MS,
    VIEWPORT,
    assert_no_errors,
    choose,
    go_to,
    main,
    metric_values,
    poll,
    scroll_to,
    upload_digits_zip,
)
from fixtures import NEEDS_BROWSER, chromium, server, shots  # noqa: F401 - fixtures used by name
from streamlit_server import StreamlitServer

pytestmark = NEEDS_BROWSER
REPO = Path(__file__).resolve().parents[2]
RUN = "cli-watched"
GRID_CAPTION = re.compile(r"^Fixed-noise samples at step [\d,]+$")


def grid_caption_step(page) -> int:
    """N of the live panel's 'Fixed-noise samples at step N' caption (0 while there is none)."""
    caption = main(page).get_by_text(GRID_CAPTION)
    return int(caption.inner_text().rsplit(" ", 1)[1].replace(",", "")) if caption.count() else 0


def test_reload_native_upload_then_a_cli_run_in_the_sidebar_and_on_train_after_it_stopped(
        server: StreamlitServer, chromium, shots) -> None:
    page = chromium.new_page(viewport=VIEWPORT)
    page.set_default_timeout(TIMEOUT_MS)
    cli = None
    try:
        # Item 1: 28 x 28 greyscale digits uploaded at "native", then a reload.
        page.goto(server.url + "/")
        go_to(page, "Data")
        choose(page, "Data set", "Your own images")
        upload_digits_zip(page, 20)
        main(page).get_by_role("button", name="Load and preview").click()
        main(page).get_by_text("The first real images").wait_for()
        page.reload()
        go_to(page, "Data")
        main(page).get_by_text("Using your upload (digits.zip)").wait_for()
        boxes = main(page).locator('[data-testid="stSelectbox"]')
        size, channels = (boxes.filter(has_text=label).evaluate(
            "e => [...e.querySelectorAll('input, div')].map(x => x.value || x.getAttribute('aria-label') || "
            "(x.children.length ? '' : x.textContent)).join('|')") for label in ("Image size", "Channels"))
        assert "native size" in size and "native" in channels and "RGB" not in channels, (size, channels)
        assert "/uploads/" not in main(page).inner_text()
        folder_box = main(page).get_by_role("textbox", name="...or a folder / .zip on this machine")
        assert folder_box.input_value() == ""
        main(page).get_by_role("button", name="Load and preview").click()
        main(page).get_by_text("The first real images").wait_for()
        metrics = metric_values(page)
        assert metrics[:3] == ["20", "28 x 28", "grayscale (1)"], metrics
        assert_no_errors(page, "Data")
        shots(page, "newcomer-1-data-after-reload")

        # Item 5: a CLI run training into the app's checkpoints folder, started while Runs is open, is listed there
        # without a reload, named in the sidebar, and shown on Train with its live previews (it saves no grid after
        # its first step: what changes is the preview).
        go_to(page, "Runs")
        main(page).get_by_text("No runs yet").wait_for()
        args = [sys.executable, "-m", "gan_core", "train", "--dataset", "shapes", "--arch", "mlp", "--image-size",
                "16", "--batch-size", "16", "--latent-dim", "16", "--steps", "10000000", "--max-seconds", "120",
                "--sample-every", "1000000", "--quality-every", "0", "--device", "cpu", "--no-amp",
                "--out", str(Path(server.env["GAN_WORKBENCH_CHECKPOINTS"]) / RUN)]
        cli = subprocess.Popen(args, cwd=REPO, env={**os.environ, **server.env, "OMP_NUM_THREADS": "1"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        main(page).locator('[data-testid="stMultiSelect"]').filter(has_text=RUN).wait_for()  # listed, no reload
        go_to(page, "Train")
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text(f"Training elsewhere: {RUN}").wait_for()
        assert "No training running" not in sidebar.inner_text()
        main(page).get_by_text(f"Run {RUN}: running · training elsewhere").wait_for()
        poll(lambda: grid_caption_step(page) > 1, 60, "a live preview after the first step's grid")
        scroll_to(main(page).get_by_text(GRID_CAPTION))
        shots(page, "newcomer-5-cli-run-in-sidebar")

        # Item 6: stopped (Ctrl-C), then a reload: Train shows it, with Continue and Start again.
        cli.send_signal(signal.SIGINT)
        assert cli.wait(timeout=60) == 0
        page.reload()
        go_to(page, "Train")
        # .first: while a rerun redraws the status, the old line and the new one can both be on the page for a moment
        main(page).get_by_text(f"Run {RUN}: stopped").first.wait_for()
        assert "No run yet" not in main(page).inner_text()
        main(page).get_by_role("button", name="Continue").wait_for()
        main(page).get_by_role("button", name="Start again from this run").wait_for()
        scroll_to(main(page).get_by_role("button", name="Continue"))
        shots(page, "newcomer-6-train-after-stop-and-reload")
        assert_no_errors(page, "Train")
    finally:
        if cli is not None and cli.poll() is None:
            cli.kill()
        page.close()
    assert "Traceback" not in server.log(), server.log()[-3000:]
