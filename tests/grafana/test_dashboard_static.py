"""The dashboard and the compose stack as files: importable, provisionable, self-consistent."""

from __future__ import annotations

import json
import re

import yaml
from grafana_files import GRAFANA, VARIABLES, load, panels, queries


def test_importable_from_a_file_and_provisionable() -> None:
    text = (GRAFANA / "dashboards" / "wattmeter.json").read_text()
    dash = json.loads(text)
    # import from a file: Grafana asks for the Prometheus data source (__inputs) ...
    (ds_input,) = dash["__inputs"]
    assert ds_input["type"] == "datasource" and ds_input["pluginId"] == "prometheus"
    required = {(r["type"], r["id"]) for r in dash["__requires"]}
    used = {("panel", p["type"]) for p in panels(dash)}
    assert {("grafana", "grafana"), ("datasource", "prometheus")} | used <= required
    # ... and only the datasource variable's current value names the input, so that a
    # provisioned copy (no input substitution) falls back to the default Prometheus
    assert text.count("${" + ds_input["name"] + "}") == 2  # current.text, current.value
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in VARIABLES:
        assert variables[name]["includeAll"] and variables[name]["allValue"] == ".+", name
        assert variables[name]["datasource"]["uid"] == "${datasource}"
    assert ".*" not in text
    for panel in panels(dash):
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


def test_every_query_filters_on_job_and_instance() -> None:
    for title, expr in queries(load()):
        for selector in re.findall(r"wattmeter_\w+(\{[^}]*\})?", expr):
            assert 'job=~"$job", instance=~"$instance"' in selector, (title, expr)


def test_exemplars_on_the_per_call_energy_panel() -> None:
    by_title = {p["title"]: p for p in panels(load())}
    targets = by_title["Per-call energy percentiles"]["targets"]
    assert targets and all(t.get("exemplar") is True for t in targets)


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
                   "Hours of a microwave oven", "Km by car", "Internal errors",
                   "Embodied CO2e", "Life-cycle CO2e", "Water", "Abiotic depletion",
                   "CO2e by team: usage vs embodied", "Water per hour by team"):
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
    images = {name: s["image"] for name, s in compose["services"].items() if "image" in s}
    assert images["grafana"].startswith("grafana/grafana:12.")
    assert images["prometheus"].startswith("prom/prometheus:v3.")
    for image in images.values():  # pinned to a release, never a moving tag
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+", image), image
    assert "--enable-feature=exemplar-storage" in compose["services"]["prometheus"]["command"]
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
