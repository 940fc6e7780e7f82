"""The import graph of gan_core and workbench: no circles, and each module imports only its own room or those below."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("gan_core", "workbench")


def module_name(path: Path) -> str:
    """gan_core/train/trainer.py -> gan_core.train.trainer; a package's __init__.py is the package itself."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def imported(path: Path, name: str, known: set[str] | dict[str, Path]) -> Iterator[tuple[str, int]]:
    """(absolute module, line) for every import in the file: module level, in functions and under TYPE_CHECKING.
    `from pkg import sub` names the submodule when `pkg.sub` is a module, else the package."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
            yield from ((s, node.lineno) for s in subs)
            if len(subs) < len(node.names):
                yield target, node.lineno


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: {t for t, _ in imported(path, name, mods) if t in mods and t != name} for name, path in mods.items()}


def cycles(edges: dict[str, set[str]], with_groups: bool = False) -> list[list[str]]:
    """One closed path (first module repeated at the end) per strongly connected group of two or more modules, or
    with_groups: each group's modules (a group may hold several loops)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph has ~100 nodes, recursion depth is no concern
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return [closed_path(g, edges) for g in groups] if not with_groups else [sorted(g) for g in groups]


def closed_path(group: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest loop through the group's first module (breadth-first inside the group)."""
    start = min(group)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges[v] & group):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [start, *reversed(path[:-1]), start] if v != start else [start, start]
                if w not in parents:
                    parents[w] = v
                    nxt.append(w)
        frontier = nxt
    return sorted(group)


def test_the_walker_sees_every_kind_of_import(tmp_path: Path) -> None:
    src = (
        "from typing import TYPE_CHECKING\nfrom . import b\nfrom ..top import thing\nimport gan_core.x\n"
        "if TYPE_CHECKING:\n    from .c import C\ndef f():\n    from .d import g\n"
    )
    path = tmp_path / "a.py"
    path.write_text(src)
    known = {"gan_core.pkg.b", "gan_core.top", "gan_core.x", "gan_core.pkg.c", "gan_core.pkg.d"}
    found = {t for t, _ in imported(path, "gan_core.pkg.a", known)}
    assert known <= found


def test_cycles_names_the_loop() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles() -> None:
    edges = graph()
    found = cycles(edges)
    assert not found, (
        "import circles: " + "; ".join(" -> ".join(c) for c in found)
        + f" (all modules in loops: {cycles(edges, with_groups=True)})"
    )


# The rooms of DESIGN.md, lowest first: a module imports its own room or one below, never one above. The longest
# matching prefix names a module's room. (That gan_core imports no streamlit or workbench: tests/test_layers.py.)
ROOMS = [
    # "gan_core": __init__ only; the catalog names its builders as strings, imported when first used
    ("gan_core", "gan_core.errors", "gan_core.metric_names", "gan_core.timefmt", "gan_core.eta", "gan_core.catalog"),
    ("gan_core.limits", "gan_core.fileio", "gan_core.settings"),
    ("gan_core.config",),
    ("gan_core.device", "gan_core.presets", "gan_core.images"),
    ("gan_core.data", "gan_core.models"),
    ("gan_core.latent", "gan_core.sampling", "gan_core.metrics"),
    ("gan_core.train",),
    ("gan_core.runs",),
    ("gan_core.job", "gan_core.metrics.evaluate", "gan_core.expectation"),  # evaluate scores a checkpoint: above runs
    ("gan_core.cli", "gan_core.__main__"),
    ("workbench",),
]


def room(module: str) -> int | None:
    """Index in ROOMS of the longest prefix naming module ("gan_core" itself only exactly), None when none does."""
    found = [(len(p), i) for i, names in enumerate(ROOMS) for p in names
             if module == p or (p != "gan_core" and module.startswith(p + "."))]
    return max(found)[1] if found else None


def test_every_module_has_a_room() -> None:
    assert [m for m in modules() if room(m) is None] == []


def test_imports_only_look_down() -> None:
    upward = [f"{a} -> {b}" for a, targets in sorted(graph().items()) for b in sorted(targets)
              if room(b) is not None and room(a) is not None and room(b) > room(a)]
    assert not upward, "upward imports: " + "; ".join(upward)


def test_room_takes_the_longest_prefix() -> None:
    assert room("gan_core.metrics.evaluate") > room("gan_core.runs.folders") > room("gan_core.metrics.quality")
    assert room("gan_core") == 0 and room("gan_core.nowhere") is None
