"""Issue 12: data flows one way between the modules that used to import each other.

Every ``import`` in the package is read with `ast` (top-level, inside functions and under
``TYPE_CHECKING`` alike) and the module graph is searched for paths that close a loop.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import wattmeter

PACKAGE = Path(wattmeter.__file__).resolve().parent


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def graph() -> dict[str, set[str]]:
    """wattmeter module -> the wattmeter modules it imports anywhere in its source."""
    raw: dict[str, list[tuple[str, str]]] = {}  # module -> (package or module, name)
    for path in PACKAGE.rglob("*.py"):
        name = _module(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        out = raw.setdefault(name, [])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                out.extend((a.name, "") for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                target = node.module or ""
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                out.extend((target, a.name) for a in node.names)
    known = set(raw)
    edges: dict[str, set[str]] = {}
    for name, targets in raw.items():
        # `from pkg import x` imports the submodule pkg.x when there is one, else pkg
        resolved = {f"{t}.{n}" if f"{t}.{n}" in known else t for t, n in targets}
        edges[name] = {t for t in resolved if t in known and t != name}
    return edges


def reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, ()))
    return False


@pytest.mark.parametrize("low, high", [
    ("wattmeter.export.otel", "wattmeter._meter"),
    ("wattmeter.estimate._live", "wattmeter.estimate._grid"),
    ("wattmeter.instrument._stream", "wattmeter.instrument._core"),
])
def test_lower_module_does_not_import_the_higher(low: str, high: str) -> None:
    edges = graph()
    assert high in edges and low in edges
    assert reaches(edges, high, low)  # the higher one uses the lower one
    assert low not in edges[high] or not reaches(edges, low, high), (
        f"{low} imports {high} (directly or through others): an import cycle")
