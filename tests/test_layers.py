"""The layers of DESIGN.md, read from the import statements: gan_core knows no UI; pages know only the UI package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGE_IMPORTS = {"__future__", "streamlit", "workbench"}  # pages and app.py: widgets and layout, the rest in workbench
UI_IMPORTS = {"streamlit", "workbench"}  # what the engine must never import


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module path imports, anywhere in the file (functions and TYPE_CHECKING blocks too),
    plus "__import__" when it calls the builtin that imports by a name in a string."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:  # relative: inside the package
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Name) and node.id == "__import__":
            names.add("__import__")
    return names


def page_files() -> list[Path]:
    return [REPO / "app.py", *sorted((REPO / "pages").glob("*.py"))]


def test_the_repository_root_holds_no_python_module_but_app_py() -> None:
    assert [p.name for p in REPO.glob("*.py")] == ["app.py"]


@pytest.mark.parametrize("path", sorted((REPO / "gan_core").rglob("*.py")), ids=lambda p: str(p.relative_to(REPO)))
def test_the_engine_imports_no_ui(path: Path) -> None:
    assert not imported_modules(path) & UI_IMPORTS


@pytest.mark.parametrize("path", page_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_pages_import_only_streamlit_and_workbench(path: Path) -> None:
    assert imported_modules(path) <= PAGE_IMPORTS


@pytest.mark.parametrize("source,found", [
    ("import torch\n", {"torch"}),
    ("from PIL import Image\n", {"PIL"}),
    ("def f():\n    import gan_core.runs.folders\n", {"gan_core"}),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gan_core.config import RunConfig\n",
     {"typing", "gan_core"}),
    ("torch = __import__('torch')\n", {"__import__"}),
    ("from . import sibling\nfrom streamlit.testing.v1 import AppTest\n", {"streamlit"}),
])
def test_the_import_reader_sees_every_form_of_import(tmp_path: Path, source: str, found: set[str]) -> None:
    page = tmp_path / "9_Page.py"
    page.write_text("import streamlit as st\n" + source)
    assert imported_modules(page) == {"streamlit"} | found
