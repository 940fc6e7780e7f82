"""A real browser against `streamlit run app.py`: train the default from Home, watch it live, reload, stop, explore."""

from __future__ import annotations

import os
import re
import time

from browser import (
    SCREENSHOTS_ENV,
    TIMEOUT_MS,
    VIEWPORT,
    assert_no_errors,
    chart_last_step,
    go_to,
    image_srcs,
    main,
    poll,
    progress_step,
    run_status_line,
)
from fixtures import NEEDS_BROWSER, chromium, server, shots  # noqa: F401 - fixtures used by name
from streamlit_server import StreamlitServer

pytestmark = NEEDS_BROWSER
DOCS_STEPS = 3000  # shapes-default draws filled coloured shapes by then (2-3 minutes beside the browser on 2 cores)


# ---- the test --------------------------------------------------------------------------------------------------------
def test_train_watch_reload_stop_explore(server: StreamlitServer, chromium, shots) -> None:
    page = chromium.new_page(viewport=VIEWPORT)
    page.set_default_timeout(TIMEOUT_MS)
    try:
        # Home: the one button that trains the embedded default (shapes-default) and switches to Train.
        page.goto(server.url + "/")
        main(page).get_by_role("button", name="Train the default GAN on shapes").click()
        page.wait_for_url(re.compile(r"/Train$"))
        poll(lambda: progress_step(page) is not None, 120, "the live panel's step progress")
        status = run_status_line(page)
        run_name = re.match(r"^Run (\S+): (\w+)$", status).group(1)
        assert run_name.startswith("shapes-default-"), status

        # The charts and the sample grid update live (the fragment polls): see each change at least twice.
        chart_values, grid_values = [chart_last_step(page)], [image_srcs(page)]

        def updated_twice() -> bool:
            last, srcs = chart_last_step(page), image_srcs(page)
            if last is not None and last != chart_values[-1]:
                chart_values.append(last)
            if srcs and srcs != grid_values[-1]:
                grid_values.append(srcs)
            shown = [v for v in grid_values if v]  # the first grid appears at step 1: then two changes
            return len(chart_values) >= 3 and len(shown) >= 3

        poll(updated_twice, 150, "the chart and the grid to update twice", interval=0.25)
        steps = [v for v in chart_values if v is not None]
        assert steps == sorted(steps), f"the chart went back in steps: {chart_values}"
        if os.environ.get(SCREENSHOTS_ENV):  # pictures for the README: train until the samples show shapes
            poll(lambda: (progress_step(page) or 0) >= DOCS_STEPS, 900, f"step {DOCS_STEPS} for the screenshots")
        main(page).get_by_text("Curve smoothing (EMA)").evaluate("e => e.scrollIntoView({block: 'center'})")
        assert_no_errors(page, "Train")
        shots(page, "train")

        # A reload is a new session: the run is still training and still advancing.
        page.reload()
        first = poll(lambda: progress_step(page), 120, "the step progress after the reload")
        assert run_status_line(page) == f"Run {run_name}: running"
        poll(lambda: (progress_step(page) or 0) > first, 120, "the step to advance after the reload")

        # Stop: the run saves a checkpoint and says so.
        main(page).get_by_role("button", name="Stop", exact=True).click()
        poll(lambda: run_status_line(page) == f"Run {run_name}: stopped", 120, "the run to show 'stopped'")
        ended = re.compile(r"Run stopped at step [\d,]+\. Checkpoint: ckpt-\d+\.pt in the run's folder\.")
        main(page).get_by_text(ended).wait_for()

        # Explore: the stopped run is selected; moving a slider redraws the main image.
        go_to(page, "Explore")
        main(page).get_by_text("Drawn in").wait_for()
        selected = main(page).get_by_role("combobox", name="Run").input_value()
        assert selected == run_name, f"Explore selected {selected!r}, not the stopped run {run_name!r}"
        image = main(page).locator('[data-testid="stImage"] img').first
        before_src = image.get_attribute("src")
        before = page.request.get(before_src).body()
        slider = main(page).get_by_role("slider", name="PC 1")
        slider.focus()
        for _ in range(5):
            page.keyboard.press("ArrowRight")
        poll(lambda: slider.get_attribute("value") == "0.5", 60, "the PC 1 slider to reach 0.5")

        def settled() -> str | None:  # the image after the last key's rerun: a new src, unchanged for a second
            src = image.get_attribute("src")
            time.sleep(1.0)
            return src if src != before_src and image.get_attribute("src") == src else None

        after_src = poll(settled, 60, "the main image to be redrawn")
        after = page.request.get(after_src).body()
        assert after and before and after != before, "moving the PC 1 slider did not change the image"
        assert_no_errors(page, "Explore")
        shots(page, "explore")

        # Data: the default data set loads and previews its real images.
        go_to(page, "Data")
        main(page).get_by_role("button", name="Load and preview").click()
        main(page).get_by_text("The first real images").wait_for()
        main(page).get_by_role("heading", name="Chosen data set").evaluate("e => e.scrollIntoView({block: 'start'})")
        assert_no_errors(page, "Data")
        shots(page, "data")

        # Runs: the table, and the run in the one-run picker.
        go_to(page, "Runs")
        main(page).locator('[data-testid="stDataFrame"]').wait_for()
        main(page).get_by_text(re.compile(r"^Status: stopped · step [\d,]+/[\d,]+")).wait_for()
        assert_no_errors(page, "Runs")
        shots(page, "runs")

        # Home: the recent run with its latest samples.
        go_to(page, "Home")
        main(page).get_by_text(re.compile(rf"^{run_name} — stopped, step [\d,]+/[\d,]+$")).wait_for()
        assert_no_errors(page, "Home")
        shots(page, "home")
    except BaseException:
        try:  # what the browser showed when the test failed (next to the server log, never into the docs)
            where = server.log_path.with_name("failure.png")
            page.screenshot(path=str(where))
            print(f"failure screenshot: {where}\npage text:\n{main(page).inner_text(timeout=5000)[:3000]}")
        except Exception as e:  # noqa: BLE001 - the test's own error is the one to report
            print(f"no failure screenshot: {e}")
        print(f"server log tail:\n{server.log()[-3000:]}")
        raise
    finally:
        page.close()

    log = server.log()
    assert "missing ScriptRunContext" not in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
