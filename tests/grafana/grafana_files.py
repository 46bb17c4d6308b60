"""Reading the shipped dashboard: every panel query, with Grafana's variables substituted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

GRAFANA = Path(__file__).resolve().parents[2] / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "wattmeter.json"
RULES = GRAFANA / "prometheus" / "rules" / "wattmeter.rules.yml"


def load() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, expr) for every target of every panel."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def substitute(expr: str, range_: str, rate_interval: str = "1m") -> str:
    """The query Grafana would send with every variable on All and the given ranges."""
    values = {"__rate_interval": rate_interval, "__interval": rate_interval,
              "__range": range_, "__range_s": range_.rstrip("s"),
              "team": ".*", "provider": ".*", "model": ".*", "operation": ".*"}

    def repl(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError(f"unknown dashboard variable ${name} in {expr!r}")
        return values[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", repl, expr)
