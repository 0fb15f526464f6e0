"""The package's shape: no import cycle (late imports included), and dependencies that
point one way — wire -> api -> services -> store (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import ileti

SRC = Path(ileti.__file__).parent.parent

#: What a layer must never import (its own package aside).
FORBIDDEN = {
    "ileti.store": ("ileti.services", "ileti.api", "ileti.wire", "ileti.cli"),
    "ileti.services": ("ileti.api", "ileti.wire", "ileti.cli"),
    "ileti.wire": ("ileti.services", "ileti.store", "ileti.api", "ileti.cli"),
    "ileti.api": ("ileti.cli",),
}


def modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "ileti").rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
        found[name] = path
    return found


def imports_of(path: Path, known: dict[str, Path], own: str) -> set[str]:
    """The modules of the package that ``path`` imports, at any depth."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n in known and n != own}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(path, known, name) for name, path in known.items()}


def test_no_import_cycle() -> None:
    edges = graph()
    state: dict[str, int] = {}  # 1: on the path, 2: done
    cycles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for nxt in sorted(edges[name]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[name] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_dependencies_point_one_way() -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in graph().items()
        for layer, banned in FORBIDDEN.items()
        if name == layer or name.startswith(layer + ".")
        for target in targets
        if target.startswith(banned)
    )
    assert wrong == []


def test_the_client_imports_nothing_of_the_server() -> None:
    """``ileti.client`` installs with httpx alone: it imports only itself (and the
    package's empty ``ileti/__init__.py``)."""
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in graph().items()
        if name == "ileti.client" or name.startswith("ileti.client.")
        for target in targets
        if target != "ileti" and not target.startswith("ileti.client")
    )
    assert wrong == []


def test_the_guards_see_a_cycle(tmp_path: Path) -> None:
    """The checks above would fail on a package that had one."""
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from ileti.b import x\n")
    b.write_text("import ileti.a\n")
    known = {"ileti.a": a, "ileti.b": b}
    assert imports_of(a, known, "ileti.a") == {"ileti.b"}
    assert imports_of(b, known, "ileti.b") == {"ileti.a"}
