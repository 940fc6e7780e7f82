"""What only a browser shows on the Data and Runs pages: the offline message, a native-size upload, and a refused
Delete that keeps its tab open (a message above the tabs used to reset them to the first one)."""

from __future__ import annotations

import re

import pytest
from browser import (
    ERRORS,
    TIMEOUT_MS,
    VIEWPORT,
    assert_no_errors,
    choose,
    go_to,
    main,
    metric_values,
    upload_digits_zip,
)
from fixtures import NEEDS_BROWSER, chromium, server, shots  # noqa: F401 - fixtures used by name
from streamlit_server import StreamlitServer

pytestmark = NEEDS_BROWSER


def test_offline_message_and_native_upload(server: StreamlitServer, chromium, shots) -> None:
    page = chromium.new_page(viewport=VIEWPORT)
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(server.url + "/")
        go_to(page, "Data")
        # MNIST with download on and no network (the test machine has none): the plain-words message.
        choose(page, "Data set", "MNIST digits")
        main(page).get_by_role("button", name="Load and preview").click()
        error = main(page).locator('[data-testid="stAlertContentError"]')
        error.wait_for()
        text = error.inner_text()
        assert text.startswith("MNIST could not be downloaded (no network connection?)"), text
        assert "upload them on the Data page" in text and re.search(r"in the folder \S+/mnist", text), text
        for words in ("urlopen", "Errno", "RuntimeError", "--data-dir", "http"):
            assert words not in text, text
        assert "Downloading MNIST" not in main(page).inner_text()  # no loading line left under the failure
        error.scroll_into_view_if_needed()
        shots(page, "data-offline")

        # 60 greyscale 28 x 28 PNGs (zipped) at "native" size and channels: 28 x 28 greyscale, not 64 x 64 RGB.
        choose(page, "Data set", "Your own images")
        upload_digits_zip(page, 60, "digits/")
        main(page).get_by_role("button", name="Load and preview").click()
        main(page).get_by_text("The first real images").or_(main(page).locator(ERRORS)).first.wait_for()
        assert_no_errors(page, "Data")  # a refused load says why here rather than in a 90-s timeout
        metrics = metric_values(page)
        assert metrics[:3] == ["60", "28 x 28", "grayscale (1)"], metrics
        assert_no_errors(page, "Data")
        main(page).get_by_role("heading", name="Chosen data set").evaluate("e => e.scrollIntoView({block: 'start'})")
        shots(page, "data-native-upload")
    finally:
        page.close()


def test_a_refused_delete_keeps_the_delete_tab_open(server: StreamlitServer, chromium, shots,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import make_run

    monkeypatch.setenv("GAN_WORKBENCH_CHECKPOINTS", server.env["GAN_WORKBENCH_CHECKPOINTS"])
    make_run("kept-run", steps=10)
    make_run("doomed-run", steps=10)
    page = chromium.new_page(viewport=VIEWPORT)
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(server.url + "/")
        go_to(page, "Runs")
        delete_tab = main(page).get_by_role("tab", name="Delete")
        delete_tab.click()
        main(page).get_by_role("button", name="Delete run").click()  # without ticking the box
        main(page).get_by_text("Tick the box confirming that 'doomed-run' should be deleted").wait_for()
        assert delete_tab.get_attribute("aria-selected") == "true"  # still on the Delete tab...
        box = main(page).get_by_text("Yes, delete 'doomed-run' with all its checkpoints and samples")
        box.wait_for(state="visible")  # ...with the box it asks for in sight
        box.scroll_into_view_if_needed()
        shots(page, "runs-delete-refused")
        assert_no_errors(page, "Runs")
    finally:
        page.close()
    assert "Traceback" not in server.log(), server.log()[-3000:]
