"""Browser-test helpers: chromium launch flags, waiting, and reading Streamlit's live panel from the page."""

from __future__ import annotations

import contextlib
import io
import re
import time
import zipfile
from collections.abc import Callable

CHROMIUM = "/usr/bin/chromium"
# Flags without which chromium tries the (closed) network or fails in a container.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 90_000  # 2 shared CPU cores: a rerun can take seconds
SCREENSHOTS_ENV = "GAN_WORKBENCH_SCREENSHOTS"
MAX_SCREENSHOT_BYTES = 150_000
RUNNING_ICON = '[data-testid="stStatusWidgetRunningIcon"]'  # mounted while a script run is in flight
ERROR_SELECTORS = {"an error box": '[data-testid="stAlertContentError"]', "an exception": '[data-testid="stException"]'}
ERRORS = ", ".join(ERROR_SELECTORS.values())  # any of them


def small_png(png: bytes) -> bytes:
    """The screenshot re-encoded (optimised; as a 256-color palette if still over MAX_SCREENSHOT_BYTES)."""
    from PIL import Image

    im = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    im.save(out, "PNG", optimize=True)
    if out.tell() > MAX_SCREENSHOT_BYTES:
        out = io.BytesIO()
        im.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, "PNG", optimize=True)
    return out.getvalue()


# ---- page helpers ----------------------------------------------------------------------------------------------------
def poll(predicate: Callable[[], object], timeout: float, what: str | Callable[[], str],
         interval: float = 0.5) -> object:
    """predicate() until truthy (returned); AssertionError naming what after timeout seconds (what() when callable:
    a description of what the page shows then)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what() if callable(what) else what}")
        time.sleep(interval)


def main(page):
    return page.locator('[data-testid="stMain"]')


def metric_values(page, at_least: int = 3, timeout: float = 60) -> list[str]:
    """The main area's st.metric values once at least `at_least` are drawn: a caption below them can show first (CI
    once read one of three)."""
    def drawn() -> list[str] | None:
        texts = main(page).locator('[data-testid="stMetricValue"]').all_inner_texts()
        return texts if len(texts) >= at_least else None

    return poll(drawn, timeout, f"{at_least} metrics on the page")


def choose(page, label: str, option: str) -> None:
    """Pick an option of one of the main area's select boxes, by its label."""
    main(page).get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def digit_png(i: int) -> bytes:
    """A 28 x 28 greyscale PNG: a white digit on black, like MNIST's."""
    from PIL import Image, ImageDraw

    im = Image.new("L", (28, 28), 0)
    ImageDraw.Draw(im).text((9, 7), str(i % 10), fill=255)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def upload_digits_zip(page, count: int, folder: str = "") -> None:
    """Upload digits.zip, holding count digit PNGs (under folder/), through the Data page's own-images uploader
    (one .zip, not many files: the uploader lists many files a page at a time, and one upload is one wait)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(count):
            zf.writestr(f"{folder}digit{i:03d}.png", digit_png(i))
    # The folder's own uploader, once the page has rerun for the new choice (MNIST's uploader is there before).
    uploader = main(page).locator('[data-testid="stFileUploader"]').filter(has_text="Upload several images")
    uploader.wait_for()
    uploader.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        [{"name": "digits.zip", "mimeType": "application/zip", "buffer": archive.getvalue()}])
    # The server's caption, not the uploader's own list: a click made before the server held the files ran
    # without them (CI, stop 35: Load and preview never showed the images).
    main(page).get_by_text("Received 1 file: digits.zip.").wait_for()
    settle(page)  # the upload's own rerun may still run


def settle(page) -> None:
    """Wait until no script run is in flight (Streamlit mounts its running icon only then): a click made during a
    run twice never came through in CI (sessions 9 and 10: an upload's rerun, a polling page's rerun)."""
    page.locator(RUNNING_ICON).wait_for(state="hidden")


def click_until(page, button, done: Callable[[], object], tries: int = 3, wait: float = 10) -> None:
    """Click `button` until done() is true within `wait` s of a click, `tries` clicks at most. A click can land while a
    polling fragment redraws the button and never reach the server (CI: stop 43's Compare, stop 44's Pause: nothing
    changed 60-90 s later); a user clicks again, and so does the test. Never once the button is disabled: the click
    came through and its effect is on its way. The caller then waits for the effect, and says what the page shows."""
    for _ in range(tries):
        settle(page)
        if button.is_disabled():
            return
        button.click()
        with contextlib.suppress(AssertionError):  # not within `wait` s: the click was lost
            poll(done, wait, "the click's effect")
            return


def scroll_to(locator, tries: int = 5) -> None:
    """Scroll the element into view, looking it up again when a rerun replaced it meanwhile (CI, stop 40: the
    Train page redrew its Continue button while Playwright waited for it to be stable: "not attached to the DOM")."""
    from playwright.sync_api import Error

    for attempt in range(tries):
        try:
            locator.scroll_into_view_if_needed()
            return
        except Error as e:
            if "not attached" not in str(e) or attempt == tries - 1:
                raise


def go_to(page, title: str) -> None:
    """Click a page in the sidebar navigation (a rerun in the same session, like a user)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    main(page).get_by_role("heading", name="GAN Workbench" if title == "Home" else title, exact=True).first.wait_for()


def progress_step(page) -> int | None:
    """N of the live panel's 'Step N / M' progress text, or None while it is not shown."""
    texts = main(page).locator('[data-testid="stProgress"]').all_inner_texts()
    for text in texts:
        m = re.search(r"Step ([\d,]+) /", text)
        if m:
            return int(m.group(1).replace(",", ""))
    return None


def chart_last_step(page) -> float | None:
    """The newest step plotted in the live panel's plotly charts (read from the figures' data), None when empty."""
    last = main(page).locator(".js-plotly-plot").evaluate_all(
        "els => els.flatMap(e => (e.data || []).flatMap(t => Array.from(t.x || [])))")
    return max(last) if last else None


def image_srcs(page) -> list[str]:
    return main(page).locator('[data-testid="stImage"] img').evaluate_all("els => els.map(e => e.src)")


def assert_no_errors(page, where: str) -> None:
    """No error box and no exception trace on the page."""
    for label, selector in ERROR_SELECTORS.items():
        found = main(page).locator(selector)
        assert found.count() == 0, f"the {where} page shows {label}: {found.first.inner_text()}"


def run_status_line(page) -> str:
    """The live panel's 'Run NAME: STATUS' line ('paused at step 1,234' once a paused run's thread waits)."""
    line = main(page).locator('[data-testid="stMarkdown"]').filter(has_text=re.compile(r"^Run \S+: [\w ,]+$")).first
    return line.inner_text(timeout=TIMEOUT_MS).strip()


