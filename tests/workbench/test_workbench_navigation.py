"""Pages run inside app.py's navigation, and the Streamlit behaviour that makes run_inside_app necessary."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import APP
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from workbench import navigation

PAGES = [navigation.HOME_PAGE, navigation.DATA_PAGE, navigation.TRAIN_PAGE, navigation.EXPLORE_PAGE,
         navigation.RUNS_PAGE]


@pytest.fixture
def pages_flag() -> Iterator[None]:
    """Puts Streamlit's process-wide pages-folder flag back as it was."""
    saved = PagesManager.uses_pages_directory
    yield
    PagesManager.uses_pages_directory = saved


# ---- Streamlit's behaviour (a failure here means Streamlit changed it: revisit navigation.run_inside_app) ------------
def test_streamlit_starts_in_pages_folder_mode_beside_a_pages_folder(tmp_path: Path, pages_flag: None) -> None:
    (tmp_path / "pages").mkdir()
    (tmp_path / "app.py").write_text("")
    PagesManager.uses_pages_directory = None  # a fresh server
    PagesManager(str(tmp_path / "app.py"))
    assert PagesManager.uses_pages_directory is True


def test_only_st_navigation_leaves_that_mode_and_the_runner_obeys_it(pages_flag: None) -> None:
    import streamlit as st
    from streamlit.runtime.scriptrunner import script_runner

    assert "PagesManager.uses_pages_directory = False" in inspect.getsource(st.navigation)
    # While the flag is set, a script run executes the requested page file alone (_mpa_v1), not the main script.
    runner = inspect.getsource(script_runner.ScriptRunner)
    assert "if PagesManager.uses_pages_directory:" in runner and "_mpa_v1(" in runner
    assert callable(script_runner._mpa_v1)


# ---- the app --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", [navigation.TRAIN_PAGE, navigation.RUNS_PAGE])
def test_a_first_visit_straight_to_a_page_runs_it_inside_the_app(page: str, app_env: None) -> None:
    # A fresh server's first visitor opening /Train (a bookmark, a reload): without run_inside_app the page ran
    # alone, without the shared sidebar and the other pages.
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert [c.value for c in at.sidebar.caption] == ["No training running."]
    assert at.session_state[navigation.ENTERED_KEY] is True


def test_every_page_file_is_in_the_navigation_and_calls_run_inside_app_before_drawing() -> None:
    root = Path(APP).parent
    assert sorted(PAGES) == sorted(str(p.relative_to(root)) for p in (root / "pages").glob("*.py"))
    for page in PAGES:
        tree = ast.parse((root / page).read_text())
        first_call = next(node.value for node in tree.body if isinstance(node, ast.Expr)
                          and isinstance(node.value, ast.Call))  # the first statement that does something
        assert ast.unparse(first_call) == "navigation.run_inside_app()", page
