"""Alert and recording rules, Prometheus config, Alertmanager example: checked by the real tools."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml
from grafana_files import GRAFANA, RULES

#: Where the alerts' runbook_url points (a section per alert of docs/runbook.md).
RUNBOOK_URL = "https://github.com/wattmeter/wattmeter/blob/main/docs/runbook.md"


def _tool(name: str) -> str:
    path = shutil.which(name) or f"/usr/bin/{name}"
    if not shutil.which(path):
        pytest.skip(f"{name} is not installed (Debian packages prometheus, "
                    "prometheus-alertmanager)")
    return path


def _run(*args: str, cwd: object = None, stdout_only: bool = False) -> str:
    out = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=cwd)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout if stdout_only else out.stdout + out.stderr


def test_promtool_check_rules() -> None:
    assert "SUCCESS" in _run(_tool("promtool"), "check", "rules", str(RULES))


def test_promtool_rule_unit_tests_fire_and_do_not_fire() -> None:
    out = _run(_tool("promtool"), "test", "rules", "wattmeter.rules.test.yml", cwd=RULES.parent)
    assert "SUCCESS" in out


def test_promtool_check_shipped_prometheus_config() -> None:
    out = _run(_tool("promtool"), "check", "config", str(GRAFANA / "prometheus" / "prometheus.yml"))
    assert "SUCCESS" in out


def test_amtool_check_alertmanager_example() -> None:
    out = _run(_tool("amtool"), "check-config", str(GRAFANA / "alertmanager" / "alertmanager.yml"))
    assert "SUCCESS" in out


def test_alertmanager_routes_by_team() -> None:
    am = GRAFANA / "alertmanager" / "alertmanager.yml"
    amtool = _tool("amtool")
    for labels, receiver in ((["team=search", "alertname=WattmeterBudgetWarning"], "team-search"),
                             (["team=ml", "severity=critical"], "team-ml-pager"),
                             (["team=ml", "severity=warning"], "team-ml"),
                             (["alertname=WattmeterInternalErrors"], "platform")):
        out = _run(amtool, "config", "routes", "test", "--config.file", str(am), *labels,
                   stdout_only=True)
        assert out.strip() == receiver, (labels, out)


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_alerts_follow_the_mixin_style() -> None:
    runbook = (GRAFANA.parent / "docs" / "runbook.md").read_text()
    sections = {"#" + m.lower() for m in re.findall(r"^## (\w+)$", runbook, re.MULTILINE)}
    alerts = [r for r in _rules() if "alert" in r]
    assert len(alerts) >= 6
    for rule in alerts:
        name, notes = rule["alert"], rule["annotations"]
        assert rule.get("for"), f"{name} has no for:"
        assert rule["labels"]["severity"] in ("info", "warning", "critical"), name
        assert "{{" not in notes["summary"], f"{name}: the summary must be static"
        assert "$value" in notes["description"], f"{name}: the value goes in the description"
        url = notes["runbook_url"]
        assert url.startswith(RUNBOOK_URL) and url[len(RUNBOOK_URL):] == "#" + name.lower()
        assert "#" + name.lower() in sections, f"docs/runbook.md has no section {name}"
    assert any("absent(" in r["expr"] for r in alerts)


def test_recording_rules_are_named_level_metric_operations() -> None:
    records = [r["record"] for r in _rules() if "record" in r]
    assert records
    for name in records:
        level, metric, operations = name.split(":")
        assert level and operations and metric.startswith("wattmeter_"), name
        assert not metric.endswith("_total"), name  # the rate's metric, not the counter


def test_every_rule_has_a_promtool_test() -> None:
    tests = yaml.safe_load((RULES.parent / "wattmeter.rules.test.yml").read_text())["tests"]
    tested_alerts = {t["alertname"] for case in tests for t in case.get("alert_rule_test", [])
                     if t.get("exp_alerts")}
    tested_records = {t["expr"] for case in tests for t in case.get("promql_expr_test", [])}
    for rule in _rules():
        if "alert" in rule:
            assert rule["alert"] in tested_alerts, f"no firing test for {rule['alert']}"
        else:
            assert rule["record"] in tested_records, f"no test for {rule['record']}"
