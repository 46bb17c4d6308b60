"""``wattmeter report`` carries the life-cycle breakdown a scope 3 / CSRD disclosure needs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import wattmeter
from wattmeter._version import METHOD_VERSION
from wattmeter.budget import Ledger
from wattmeter.cli import main


def _ledger(path: Path) -> Path:
    """Three gpt-4o calls for 'search' (US), two Mistral calls for 'research' (France), and
    one row written before the life-cycle columns existed (12 fields)."""
    ledger = Ledger(path)
    now = int(time.time() // 60 * 60)
    for team, model, provider, n in (("search", "gpt-4o", "openai", 3),
                                     ("research", "mistral-large-2407", "mistral", 2)):
        fp = wattmeter.estimate(model, provider, input_tokens=500, output_tokens=400)
        for _ in range(n):
            ledger.add((now, team, provider, model, "chat", {}, fp.energy_wh, fp.co2e_g,
                        fp.accelerator_wh, 1, 500, 400, fp.co2e_g_low, fp.co2e_g_high,
                        fp.co2e_embodied_g, fp.co2e_embodied_g_low, fp.co2e_embodied_g_high,
                        fp.water_ml, fp.water_ml_low, fp.water_ml_high, fp.adpe_kgsbeq,
                        fp.grid_zone, METHOD_VERSION))
    ledger.add((now, "legacy", "openai", "gpt-4o", "chat", "{}", 1.0, 0.4, 0.5, 1, 10, 10))
    ledger.flush()
    ledger.close()
    return path


def test_json_has_the_disclosure_fields(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = _ledger(tmp_path / "l.db")
    assert main(["report", "--ledger", str(path), "--by", "team,month", "--format",
                 "json"]) == 0
    rows = {r["team"]: r for r in json.loads(capsys.readouterr().out)}
    one = wattmeter.estimate("gpt-4o", "openai", input_tokens=500, output_tokens=400)
    s = rows["search"]
    assert s["calls"] == 3 and s["month"]
    assert s["co2e_embodied_g"] == pytest.approx(3 * one.co2e_embodied_g)
    assert s["water_ml"] == pytest.approx(3 * one.water_ml)
    assert s["co2e_g_low"] <= s["co2e_g"] <= s["co2e_g_high"]
    assert s["co2e_embodied_g_low"] <= s["co2e_embodied_g"] <= s["co2e_embodied_g_high"]
    assert s["co2e_total_g"] == pytest.approx(s["co2e_g"] + s["co2e_embodied_g"])
    assert s["ef_gco2e_per_kwh"] == pytest.approx(one.grid_gco2e_per_kwh)
    assert s["ef_basis"] == "location-based"
    assert s["grid_zones"] == ["US"] and s["ef_sources"][0].startswith("US: ")
    assert "(20" in s["ef_sources"][0]  # the factor's year
    assert s["method_versions"] == [METHOD_VERSION]
    assert rows["research"]["grid_zones"] == ["FR"]
    legacy = rows["legacy"]  # written before the life-cycle columns: zeros, no method
    assert legacy["co2e_embodied_g"] == 0.0 and legacy["method_versions"] == []


def test_disclosure_table_groups_by_team_and_month(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = _ledger(tmp_path / "l.db")
    assert main(["report", "--ledger", str(path), "--disclosure"]) == 0
    out = capsys.readouterr().out
    head = out.splitlines()[0]
    for col in ("TEAM", "MONTH", "ENERGY (kWh)", "CO2e USAGE (kg)", "CO2e EMBODIED (kg)",
                "CO2e TOTAL (kg)", "EF (gCO2e/kWh)", "WATER (L)", "ZONES"):
        assert col in head
    assert "emission factor  FR: " in out and "emission factor  US: " in out
    assert f"method           {METHOD_VERSION}" in out


def test_csv_keeps_the_old_columns_first(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = _ledger(tmp_path / "l.db")
    assert main(["report", "--ledger", str(path), "--by", "team", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("team,calls,energy_wh,co2e_g,accelerator_wh,input_tokens,"
                               "output_tokens,co2e_g_low,")
    assert "water_ml" in lines[0] and "method_versions" in lines[0]
