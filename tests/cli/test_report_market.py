"""``wattmeter report`` exports carry market-based CO2e beside location-based, and cite each
grid factor's source in one short line (no 600-character string repeated on every row)."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

import wattmeter
from wattmeter._version import METHOD_VERSION
from wattmeter.budget import Ledger
from wattmeter.cli import main


def _ledger(path: Path) -> Path:
    ledger = Ledger(path)
    now = int(time.time() // 60 * 60)
    for team, provider, model, zone in (("search", "openai", "gpt-4o", "DE"),
                                        ("assist", "google", "gemini-2.5-flash", None)):
        fp = wattmeter.estimate(model, provider, input_tokens=500, output_tokens=400, zone=zone)
        for _ in range(2):
            ledger.add((now, team, provider, model, "chat", {}, fp.energy_wh, fp.co2e_g,
                        fp.accelerator_wh, 1, 500, 400, fp.co2e_g_low, fp.co2e_g_high,
                        fp.co2e_embodied_g, fp.co2e_embodied_g_low, fp.co2e_embodied_g_high,
                        fp.water_ml, fp.water_ml_low, fp.water_ml_high, fp.adpe_kgsbeq,
                        fp.co2e_market_g, fp.co2e_market_g_low, fp.co2e_market_g_high,
                        fp.grid_zone, METHOD_VERSION))
    ledger.flush()
    ledger.close()
    return path


def test_json_and_csv_carry_market_co2e(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = _ledger(tmp_path / "l.db")
    de = wattmeter.estimate("gpt-4o", "openai", input_tokens=500, output_tokens=400, zone="DE")
    assert main(["report", "--ledger", str(path), "--by", "team", "--format", "json"]) == 0
    rows = {r["team"]: r for r in json.loads(capsys.readouterr().out)}
    s = rows["search"]
    assert s["co2e_market_g"] == pytest.approx(2 * de.co2e_market_g)
    assert s["co2e_market_g_low"] <= s["co2e_market_g"] <= s["co2e_market_g_high"]
    assert s["ef_market_gco2e_per_kwh"] == pytest.approx(de.grid_market_gco2e_per_kwh)
    assert rows["assist"]["co2e_market_g"] < rows["assist"]["co2e_g"]  # Google's own factor
    assert main(["report", "--ledger", str(path), "--by", "team", "--format", "csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(table[0])[-5:] == ["co2e_market_g", "co2e_market_g_low", "co2e_market_g_high",
                                   "ef_market_gco2e_per_kwh", "regimes"]  # appended in order
    by_team = {r["team"]: r for r in table}
    assert float(by_team["search"]["co2e_market_g"]) == pytest.approx(2 * de.co2e_market_g)


def test_csv_cites_each_grid_source_briefly(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = _ledger(tmp_path / "l.db")
    assert main(["report", "--ledger", str(path), "--by", "team", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "twsaf1" not in out
    for row in csv.DictReader(io.StringIO(out)):
        assert 0 < len(row["ef_sources"]) <= 220, row["ef_sources"]
        assert "(20" in row["ef_sources"]  # its year
