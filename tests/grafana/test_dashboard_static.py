"""The dashboard and the compose stack as files: importable, provisionable, self-consistent."""

from __future__ import annotations

import json
import re

import yaml
from grafana_files import GRAFANA, load, panels, queries


def test_datasource_variable_and_no_import_placeholders() -> None:
    text = (GRAFANA / "dashboards" / "wattmeter.json").read_text()
    dash = json.loads(text)
    assert "__inputs" not in dash and "${DS_" not in text
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("team", "provider", "model", "operation"):
        assert variables[name]["includeAll"] and variables[name]["allValue"] == ".*"
    for panel in panels(dash):
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


def test_every_panel_has_a_unit_and_a_description() -> None:
    for panel in panels(load()):
        assert panel["fieldConfig"]["defaults"].get("unit"), panel["title"]
        assert panel.get("description"), panel["title"]


def test_rates_use_rate_interval_and_totals_use_range() -> None:
    for title, expr in queries(load()):
        for window in re.findall(r"(?:rate|increase)\([^\[]*\[([^\]]+)\]", expr):
            assert window in ("$__rate_interval", "$__range"), (title, expr)
        if "rate(" in expr:
            assert "[$__rate_interval]" in expr, (title, expr)


def test_panels_cover_the_issue() -> None:
    titles = {p["title"] for p in panels(load())}
    for needed in ("Energy", "CO2e", "Energy per hour by team", "CO2e per hour by team",
                   "Top models by energy", "Top teams by CO2e", "Per-call energy percentiles",
                   "Calls per second by outcome", "Tokens per second by type", "Budget used",
                   "Forecast at the end of the period", "Smartphone charges",
                   "Hours of a microwave oven", "Km by car", "Internal errors"):
        assert needed in titles


def test_equivalents_cite_their_constants() -> None:
    by_title = {p["title"]: p for p in panels(load())}
    for title, constant, source in (("Smartphone charges", "/ 12", "12 Wh"),
                                    ("Hours of a microwave oven", "/ 850", "850 W"),
                                    ("Km by car", "/ 106.6", "European Environment Agency")):
        assert constant in by_title[title]["targets"][0]["expr"]
        assert source in by_title[title]["description"]
    readme = (GRAFANA / "README.md").read_text()
    assert "12 Wh" in readme and "850 W" in readme and "106.6" in readme


def test_compose_parses_and_references_existing_files() -> None:
    compose = yaml.safe_load((GRAFANA / "docker-compose.yml").read_text())
    assert {"prometheus", "alertmanager", "grafana", "example-app"} <= set(compose["services"])
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            host = volume.split(":")[0]
            assert (GRAFANA / host).exists(), volume
        build = service.get("build")
        if build:
            context = GRAFANA / build["context"]
            assert (context / build["dockerfile"]).is_file()
    for path in ("provisioning/datasources/prometheus.yml",
                 "provisioning/dashboards/wattmeter.yml"):
        assert yaml.safe_load((GRAFANA / path).read_text())["apiVersion"] == 1
    example = (GRAFANA / "example-app" / "app.py").read_text()
    compile(example, "app.py", "exec")
