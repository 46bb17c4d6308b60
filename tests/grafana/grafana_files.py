"""Reading the shipped dashboard: every panel query, with Grafana's variables substituted."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

GRAFANA = Path(__file__).resolve().parents[2] / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "wattmeter.json"
RULES = GRAFANA / "prometheus" / "rules" / "wattmeter.rules.yml"
#: The dashboard's query variables (All = ".+").
VARIABLES = ("job", "instance", "team", "provider", "model", "operation")


def load() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every non-row panel (collapsed rows opened); never empty, so no loop over it is vacuous."""
    out: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            out.extend(panel.get("panels", []))
        else:
            out.append(panel)
    assert len(out) >= 15, f"the dashboard has only {len(out)} panels"
    return out


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, expr) for every target of every panel; every panel has at least one."""
    out: list[tuple[str, str]] = []
    for panel in panels(dashboard):
        targets = panel.get("targets", [])
        assert targets, f"panel {panel['title']!r} has no query"
        out.extend((panel["title"], target["expr"]) for target in targets)
    return out


def substitute(expr: str, range_: str, rate_interval: str = "1m") -> str:
    """The query Grafana would send with every variable on All and the given ranges."""
    values = {"__rate_interval": rate_interval, "__interval": rate_interval,
              "__range": range_, "__range_s": range_.rstrip("s"),
              **{name: ".+" for name in VARIABLES}}

    def repl(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError(f"unknown dashboard variable ${name} in {expr!r}")
        return values[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", repl, expr)
