"""The ledger keeps the life-cycle breakdown a disclosure needs (issue 10)."""

from __future__ import annotations

import sqlite3

import pytest
from budget_helpers import Clock, manager

import wattmeter
from wattmeter import Budget
from wattmeter._version import METHOD_VERSION
from wattmeter.budget import Ledger


def test_record_stores_the_breakdown_zone_and_method(tmp_path) -> None:
    mgr = manager(tmp_path, [Budget(team="search", limit="1 MWh", period="day")],
                  Clock(1_800_000_000.0))
    one = wattmeter.estimate("gpt-4o", "openai", input_tokens=500, output_tokens=400,
                             zone="FR")
    for _ in range(4):
        mgr.record(one._replace(team="search"))
    mgr.flush()
    (row,) = Ledger(tmp_path / "ledger.sqlite3").totals(group_by=("team",))
    assert row["calls"] == 4
    for name in ("co2e_g_low", "co2e_g_high", "co2e_embodied_g", "co2e_embodied_g_low",
                 "co2e_embodied_g_high", "water_ml", "water_ml_low", "water_ml_high",
                 "adpe_kgsbeq"):
        assert row[name] == pytest.approx(4 * getattr(one, name)), name
    assert row["grid_zones"] == ["FR"] and row["method_versions"] == [METHOD_VERSION]
    assert row["regimes"] == ["provider"]  # the serving regime a report states (issue 17)
    mgr.close()


def test_the_ledger_keeps_each_calls_serving_regime(tmp_path) -> None:
    """Calls in two regimes: each row keeps its own, a team's total lists both."""
    mgr = manager(tmp_path, [], Clock(1_800_000_000.0))
    fleet = wattmeter.estimate("gpt-4o", "openai", output_tokens=100)
    local = wattmeter.estimate(wattmeter.ModelSpec(8.0), output_tokens=100,
                               deployment=wattmeter.Deployment(gpu="A100", regime="naive"))
    mgr.record(fleet._replace(team="t"))
    mgr.record(local._replace(team="t"))
    mgr.flush()
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    (row,) = ledger.totals(group_by=("team",))
    assert row["regimes"] == ["naive", "provider"]
    by_model = {r["model"]: r["regimes"] for r in ledger.totals(group_by=("model",))}
    assert by_model["gpt-4o"] == ["provider"] and ["naive"] in by_model.values()
    mgr.close()


def test_rows_without_lifecycle_fields_still_write(tmp_path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    ledger.add((60, "a", "openai", "gpt-4o", "chat", "{}", 1.0, 0.4, 0.5, 1, 10, 10))
    ledger.flush()
    (row,) = ledger.totals(group_by=("team",))
    assert row["energy_wh"] == 1.0 and row["water_ml"] == 0.0 and row["grid_zones"] == []


def test_ledger_from_before_the_lifecycle_columns_gains_them(tmp_path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE usage (
            bucket INTEGER NOT NULL, team TEXT NOT NULL, provider TEXT NOT NULL,
            model TEXT NOT NULL, operation TEXT NOT NULL, labels TEXT NOT NULL,
            energy_wh REAL NOT NULL DEFAULT 0, co2e_g REAL NOT NULL DEFAULT 0,
            accelerator_wh REAL NOT NULL DEFAULT 0, calls INTEGER NOT NULL DEFAULT 0,
            input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (team, bucket, provider, model, operation, labels)) WITHOUT ROWID;
        INSERT INTO usage VALUES (60, 'a', 'openai', 'gpt-4o', 'chat', '{}', 2, 1, 1, 1, 5, 5);
    """)
    conn.commit()
    conn.close()
    ledger = Ledger(path)
    ledger.add((60, "a", "openai", "gpt-4o", "chat", "{}", 2.0, 1.0, 1.0, 1, 5, 5, 0.5, 2.0,
                0.25, 0.1, 0.9, 3.0, 1.0, 9.0, 1e-9, "US", METHOD_VERSION))
    ledger.flush()
    (row,) = ledger.totals(group_by=("team",))
    assert row["calls"] == 2 and row["energy_wh"] == 4.0
    assert row["co2e_embodied_g"] == 0.25 and row["water_ml"] == 3.0
    assert row["grid_zones"] == ["US"]
    assert ledger.integrity_ok()
