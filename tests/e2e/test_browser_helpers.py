"""The browser helpers' own logic, without a browser: scroll_to's retry when a rerun replaced the element."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright")
from browser import scroll_to  # noqa: E402
from playwright.sync_api import Error, TimeoutError  # noqa: E402

DETACHED = "Element is not attached to the DOM"


class FakeLocator:
    """Raises each of `errors` in turn from scroll_into_view_if_needed, then scrolls."""

    def __init__(self, *errors: Error) -> None:
        self.errors, self.calls, self.scrolled = list(errors), 0, False

    def scroll_into_view_if_needed(self) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        self.scrolled = True


def test_an_element_replaced_by_a_rerun_is_looked_up_again() -> None:
    locator = FakeLocator(Error(DETACHED), Error(DETACHED))
    scroll_to(locator)
    assert locator.scrolled and locator.calls == 3


def test_an_element_that_stays_detached_raises_after_the_tries() -> None:
    locator = FakeLocator(*[Error(DETACHED)] * 5)
    with pytest.raises(Error, match="not attached"):
        scroll_to(locator, tries=5)
    assert locator.calls == 5 and not locator.scrolled


def test_other_errors_are_raised_at_once() -> None:
    locator = FakeLocator(TimeoutError("Timeout 30000ms exceeded"))
    with pytest.raises(TimeoutError):
        scroll_to(locator)
    assert locator.calls == 1
