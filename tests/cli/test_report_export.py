"""``wattmeter report --export csrd``: per team and period, the CSRD/GHG records as CSV and
JSON with the documented schema; market-based CO2e read when the ledger has it."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from report_ledgers import write

from wattmeter.cli import main
from wattmeter.report._export import COLUMNS, SCHEMA


def test_json_has_the_schema_sources_and_one_record_per_team(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = write(tmp_path / "l.db")
    assert main(["report", "--ledger", str(ledger), "--export", "csrd", "--format",
                 "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == SCHEMA and doc["market_based"] == "not recorded"
    assert [r["team"] for r in doc["records"]] == ["research", "search", "support"]
    for r in doc["records"]:
        assert list(r) == list(COLUMNS)
        assert r["co2e_location_kg_low"] <= r["co2e_location_kg"] <= r["co2e_location_kg_high"]
        assert r["co2e_market_kg"] is None
        assert r["method_versions"] and r["grid_zones"]
    zones = {s["zone"]: s for s in doc["sources"]}
    assert {"US", "aws:us-east-1"} <= set(zones)
    assert all(s["year"] and s["source"] for s in zones.values())
    assert doc["records"][1]["calls"] == 50


def test_csv_has_decimal_numbers_and_short_source_cells(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = write(tmp_path / "l.db")
    assert main(["report", "--ledger", str(ledger), "--export", "csrd"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out, newline="")))
    assert list(rows[0]) == list(COLUMNS)
    for r in rows:
        assert "e-" not in r["adpe_kg_sb_eq"] and float(r["adpe_kg_sb_eq"]) > 0
        assert r["co2e_market_kg"] == ""
        assert len(r["grid_zones"]) < 80 and "(20" in r["grid_zones"]


def test_market_based_columns_are_read_when_present(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = write(tmp_path / "l.db")
    conn = sqlite3.connect(ledger)
    have = {row[1] for row in conn.execute("PRAGMA table_info(usage)")}
    for col in ("co2e_market_g", "co2e_market_g_low", "co2e_market_g_high"):
        if col not in have:  # the ledger has them since the market-based figures landed
            conn.execute(f"ALTER TABLE usage ADD COLUMN {col} REAL NOT NULL DEFAULT 0")
    conn.execute("UPDATE usage SET co2e_market_g = co2e_g / 2, co2e_market_g_low = "
                 "co2e_g_low / 2, co2e_market_g_high = co2e_g_high / 2")
    conn.commit()
    conn.close()
    assert main(["report", "--ledger", str(ledger), "--export", "csrd", "--format",
                 "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["market_based"] == "recorded"
    for r in doc["records"]:
        assert r["co2e_market_kg"] == pytest.approx(r["co2e_location_kg"] / 2, rel=1e-4)
    pytest.importorskip("matplotlib")
    out = tmp_path / "r.html"
    assert main(["report", "--ledger", str(ledger), "--html", str(out)]) == 0
    assert "not recorded" not in out.read_text(encoding="utf-8")


def test_disclosure_and_report_json_say_market_based_is_not_recorded(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = write(tmp_path / "l.db")
    assert main(["report", "--ledger", str(ledger), "--disclosure"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "CO2e MARKET (kg)" in lines[0] and "not recorded" in lines[1]
    assert main(["report", "--ledger", str(ledger), "--by", "team", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all(r["co2e_market_g"] is None for r in rows)
