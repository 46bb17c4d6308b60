"""Configuration, budgets and the Prometheus exporter depend one way (issue 12: the
`_config` <-> `budget` <-> `export.prometheus` cycle): `_config` imports neither, `budget`
reads `_config` but never imports the exporter. Function-level imports count too."""

from __future__ import annotations

import ast
from pathlib import Path

import wattmeter

SRC = Path(wattmeter.__file__).parent


def _imports(path: Path) -> set[str]:
    """Absolute names of the wattmeter modules `path` imports, at any level."""
    package = "wattmeter." + ".".join(path.relative_to(SRC).with_suffix("").parts)
    if path.name == "__init__.py":
        package = package.rsplit(".", 1)[0] + "._"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: -node.level] if node.level else []
            mod = ".".join([*base, *(node.module.split(".") if node.module else [])])
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m.startswith("wattmeter")}


def test_config_imports_neither_budget_nor_export() -> None:
    found = _imports(SRC / "_config.py")
    assert not {m for m in found if m.startswith(("wattmeter.budget", "wattmeter.export"))}


def test_budget_never_imports_the_exporter() -> None:
    for path in sorted((SRC / "budget").glob("*.py")):
        found = {m for m in _imports(path) if m.startswith("wattmeter.export")}
        assert not found, f"{path.name} imports {sorted(found)}"


def test_budgets_still_parse_at_configure() -> None:
    cfg = wattmeter.configure(budgets=[{"team": "search", "limit": "5 kWh"}])
    assert cfg.budgets[0].team == "search"
