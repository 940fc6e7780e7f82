"""Two browser tabs on the Train page: both watch the one run (no second trainer), and the second tab can stop it.

Ten tabs are load-tested without browsers (ten chromium renderers alone saturate this 2-core machine): as protocol
clients of a real server in test_load.py, and as AppTest sessions in tests/test_app_load.py.
"""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

from browser import TIMEOUT_MS, main, poll, progress_step, run_status_line
from fixtures import NEEDS_BROWSER, chromium, server, shots  # noqa: F401 - fixtures used by name
from streamlit_server import StreamlitServer

pytestmark = NEEDS_BROWSER

TABS = 2


def test_two_tabs_watch_one_run_and_the_second_tab_stops_it(server: StreamlitServer, chromium) -> None:
    context = chromium.new_context(viewport={"width": 1000, "height": 700})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        first = context.new_page()
        first.goto(server.url + "/")
        main(first).get_by_role("button", name="Train the default GAN on shapes").click()
        first.wait_for_url(re.compile(r"/Train$"))
        poll(lambda: progress_step(first) is not None, 120, "the first tab's live panel")
        run_name = re.match(r"^Run (\S+): ", run_status_line(first)).group(1)

        tabs = [first]
        for _ in range(TABS - 1):  # each tab is its own Streamlit session polling the same job
            page = context.new_page()
            page.goto(server.url + "/Train")
            tabs.append(page)
        for page in tabs:
            poll(lambda p=page: progress_step(p) is not None, 120, "every tab's live panel")
            assert run_status_line(page) == f"Run {run_name}: running"

        start = progress_step(first)
        poll(lambda: (progress_step(first) or 0) > start + 2, 120, "training to advance with both tabs polling")
        with urllib.request.urlopen(server.url + "/_stcore/health", timeout=10) as r:
            assert r.status == 200

        # Stop from the last tab; every tab, the first included, shows the run stopped.
        main(tabs[-1]).get_by_role("button", name="Stop", exact=True).click()
        for page in (tabs[0], tabs[-1]):
            poll(lambda p=page: run_status_line(p) == f"Run {run_name}: stopped", 120, "the run to show 'stopped'")
    finally:
        context.close()

    runs = [p.name for p in Path(server.env["GAN_WORKBENCH_CHECKPOINTS"]).iterdir()]
    assert runs == [run_name], f"a watching tab must not start a run: {runs}"
    log = server.log()
    assert "missing ScriptRunContext" not in log and "Traceback" not in log, log[-3000:]
