"""The 2-D playground in a real browser: choose the ring, train, watch the points move and D's surface change,
step once while paused, compare the losses, then move a latent point on Explore. Screenshots are looked at."""

from __future__ import annotations

import re
import time

from browser import (
    ERRORS,
    RUNNING_ICON,
    TIMEOUT_MS,
    VIEWPORT,
    assert_no_errors,
    choose,
    click_until,
    go_to,
    main,
    poll,
    progress_step,
    run_status_line,
    settle,
)
from fixtures import NEEDS_BROWSER, chromium, server, shots  # noqa: F401 - fixtures used by name
from streamlit_server import StreamlitServer

pytestmark = NEEDS_BROWSER


def playground_state(page) -> tuple[str, list[float]] | None:
    """(the playground plot's title, its first generated points' x) read from the plotly figure, None before."""
    return main(page).locator(".js-plotly-plot").evaluate_all(
        """els => { for (const e of els) { const t = (e.layout && e.layout.title && e.layout.title.text) || '';
                if (t.includes('Step ')) { const g = (e.data || []).find(d => d.name === 'generated');
                return [t, g ? Array.from(g.x).slice(0, 5) : []]; } } return null; }""")


def latent_pixel(page, zx: float, zy: float) -> tuple[float, float] | None:
    """The page coordinates of latent point (zx, zy) in Explore's latent chart (plotly's axes map data to pixels),
    None before the chart is drawn."""
    found = main(page).locator(".js-plotly-plot").evaluate_all(
        """(els, z) => { const e = els.find(p => p._fullLayout && (p.data || []).some(d => d.name === 'click to move'));
                if (!e) return null;
                const xa = e._fullLayout.xaxis, ya = e._fullLayout.yaxis, r = e.getBoundingClientRect();
                return [r.left + xa._offset + xa.l2p(z[0]), r.top + ya._offset + ya.l2p(z[1])]; }""", [zx, zy])
    return tuple(found) if found else None


def expander_open(page, label: str) -> bool:
    """Whether the expander whose summary starts with label is open (its <details> element)."""
    return main(page).locator("details", has_text=label).first.evaluate("e => e.open")


def parked_step(page) -> int | None:
    """N of the status 'paused at step N', said once the paused thread waits (no step in flight), else None."""
    m = re.search(r"paused at step ([\d,]+)$", run_status_line(page))
    return int(m.group(1).replace(",", "")) if m else None


def test_ring_playground_moves_steps_and_compares_losses(server: StreamlitServer, chromium, shots) -> None:
    page = chromium.new_page(viewport=VIEWPORT)
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(server.url + "/")
        go_to(page, "Data")
        choose(page, "Data set", "2-D ring (8 modes)")
        main(page).get_by_role("button", name="Load and preview").click()
        main(page).get_by_text("The real points").wait_for()
        assert_no_errors(page, "Data")
        go_to(page, "Train")
        assert main(page).get_by_role("combobox", name="Recipe").input_value().startswith("ring-default")
        main(page).get_by_role("button", name="Start", exact=True).click()
        first = poll(lambda: playground_state(page), 120, "the playground plot")
        poll(lambda: (s := playground_state(page)) and s[0] != first[0] and s[1] != first[1], 90,
             "a newer frame whose generated points moved")
        time.sleep(4)  # a few seconds of training: the points gather on the ring

        def step_on() -> bool:  # paused: the playground's Step button is enabled
            return not main(page).get_by_role("button", name="Step", exact=True).is_disabled()

        click_until(page, main(page).get_by_role("button", name="Pause", exact=True), step_on)
        poll(step_on, 60, "Step on")
        before = poll(lambda: parked_step(page), 60, "'paused at step N'")
        settle(page)
        main(page).get_by_role("button", name="Step", exact=True).click()
        poll(lambda: parked_step(page) == before + 1, 60,
             lambda: f"'paused at step {before + 1}'; shown: {run_status_line(page)!r}")
        time.sleep(2)
        assert progress_step(page) == before + 1, "step mode trained more than one step"
        # Paused, the plot stops changing: the screenshot shows it drawn, not between two redraws.
        main(page).get_by_role("heading", name="Playground").evaluate("e => e.scrollIntoView({block: 'start'})")
        poll(lambda: (s := playground_state(page)) and f"Step {before + 1:,}<" in s[0], 60,
             lambda: f"the stepped frame (step {before + 1}; shown: {playground_state(page)})")
        shots(page, "playground-train")

        main(page).get_by_text("Compare the losses' D surfaces").click()
        compare = main(page).get_by_role("button", name="Compare BCE, WGAN-GP and hinge")
        compare.wait_for()

        def started() -> bool:  # the click reached the server: a run, its spinner or the surfaces show
            return (page.locator(RUNNING_ICON).count() > 0 or main(page).get_by_text("WGAN-GP", exact=True).count() > 0
                    or main(page).get_by_text("Training three small discriminators").count() > 0)

        click_until(page, compare, started)
        # Timed out, it says what the page shows: a lost click, or a slow or hidden comparison.
        poll(lambda: main(page).get_by_text("WGAN-GP", exact=True).count() > 0, 90,
             lambda: f"the losses' surfaces; the expander open: {expander_open(page, 'Compare the losses')}, a "
                     f"spinner: {main(page).get_by_text('Training three small discriminators').count() > 0}, a "
                     f"script run in flight: {page.locator(RUNNING_ICON).count() > 0}, errors shown: "
                     f"{main(page).locator(ERRORS).all_inner_texts()}")
        assert expander_open(page, "Compare the losses"), "the expander closed by itself"
        main(page).get_by_role("button", name="Compare BCE, WGAN-GP and hinge").evaluate(
            "e => e.scrollIntoView({block: 'start'})")
        shots(page, "playground-losses")
        assert_no_errors(page, "Train")

        main(page).get_by_role("button", name="Stop", exact=True).click()
        main(page).get_by_text("Run stopped").wait_for()
        go_to(page, "Explore")
        main(page).get_by_text("G(z) in the data plane").first.wait_for()
        caption = main(page).get_by_text("G(+0.00, +0.00)").inner_text()
        slider = main(page).get_by_role("slider", name="z[0]")
        slider.focus()
        for _ in range(20):
            page.keyboard.press("ArrowRight")  # +0.05 a press
        poll(lambda: main(page).get_by_text("G(+1.00, +0.00)").count() > 0, 60, "the latent point moved")
        assert main(page).get_by_text("G(+1.00, +0.00)").inner_text() != caption
        x, y = poll(lambda: latent_pixel(page, -1.5, 1.0), 60, "the latent chart")
        page.mouse.move(x, y)
        time.sleep(0.5)  # plotly picks the point under the pointer on hover; the click then selects it
        page.mouse.click(x, y)
        poll(lambda: main(page).get_by_text("G(-1.50, +1.00)").count() > 0, 60, "the point moved to the click")
        assert main(page).get_by_text("G(+1.00, +0.00)").count() == 0  # the caption reads the sliders: they moved
        assert_no_errors(page, "Explore")
        shots(page, "playground-explore")
    finally:
        page.close()
