"""Alert and recording rules, Prometheus config, Alertmanager example: checked by the real tools."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from grafana_files import GRAFANA, RULES


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
