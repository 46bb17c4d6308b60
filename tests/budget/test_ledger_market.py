"""The ledger keeps market-based CO2e beside location-based (co2e_market_g, _low, _high), and
a ledger written before those columns gains them when opened."""

from __future__ import annotations

import sqlite3

import pytest
from budget_helpers import Clock, manager

import wattmeter
from wattmeter import Budget
from wattmeter._version import METHOD_VERSION
from wattmeter.budget import Ledger

MARKET = ("co2e_market_g", "co2e_market_g_low", "co2e_market_g_high")


def test_record_stores_market_co2e(tmp_path) -> None:
    mgr = manager(tmp_path, [Budget(team="search", limit="1 MWh", period="day")],
                  Clock(1_800_000_000.0))
    one = wattmeter.estimate("gpt-4o", "openai", input_tokens=500, output_tokens=400,
                             zone="DE")
    assert one.co2e_market_g > one.co2e_g  # Germany's residual mix is above its average
    for _ in range(3):
        mgr.record(one._replace(team="search"))
    mgr.flush()
    (row,) = Ledger(tmp_path / "ledger.sqlite3").totals(group_by=("team",))
    for name in MARKET:
        assert row[name] == pytest.approx(3 * getattr(one, name)), name
    assert row["co2e_g"] == pytest.approx(3 * one.co2e_g)
    assert row["grid_zones"] == ["DE"] and row["method_versions"] == [METHOD_VERSION]
    mgr.close()


_BEFORE_MARKET = """
CREATE TABLE usage (
    bucket INTEGER NOT NULL, team TEXT NOT NULL, provider TEXT NOT NULL,
    model TEXT NOT NULL, operation TEXT NOT NULL, labels TEXT NOT NULL,
    energy_wh REAL NOT NULL DEFAULT 0, co2e_g REAL NOT NULL DEFAULT 0,
    accelerator_wh REAL NOT NULL DEFAULT 0, calls INTEGER NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
    co2e_g_low REAL NOT NULL DEFAULT 0, co2e_g_high REAL NOT NULL DEFAULT 0,
    co2e_embodied_g REAL NOT NULL DEFAULT 0, co2e_embodied_g_low REAL NOT NULL DEFAULT 0,
    co2e_embodied_g_high REAL NOT NULL DEFAULT 0, water_ml REAL NOT NULL DEFAULT 0,
    water_ml_low REAL NOT NULL DEFAULT 0, water_ml_high REAL NOT NULL DEFAULT 0,
    adpe_kgsbeq REAL NOT NULL DEFAULT 0, grid_zone TEXT NOT NULL DEFAULT '',
    method_version TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (team, bucket, provider, model, operation, labels)
) WITHOUT ROWID;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema', '1');
INSERT INTO usage VALUES (60, 'a', 'openai', 'gpt-4o', 'chat', '{}', 2, 1, 1, 1, 5, 5,
    0.5, 2, 0.25, 0.1, 0.9, 3, 1, 9, 1e-9, 'US', 'v0');
"""


def _old_ledger(path):
    """A ledger file of the layout before the market-based columns, with one row."""
    conn = sqlite3.connect(path)
    conn.executescript(_BEFORE_MARKET)
    conn.commit()
    conn.close()
    return path


def test_ledger_from_before_the_market_columns_gains_them(tmp_path) -> None:
    path = _old_ledger(tmp_path / "old.db")
    ledger = Ledger(path)
    (row,) = ledger.totals(group_by=("team",))
    assert all(row[name] == 0.0 for name in MARKET)  # never recorded: 0, not made up
    assert row["co2e_g"] == 1.0 and row["water_ml"] == 3.0  # the old sums are intact
    ledger.add((60, "a", "openai", "gpt-4o", "chat", "{}", 2.0, 1.0, 1.0, 1, 5, 5, 0.5, 2.0,
                0.25, 0.1, 0.9, 3.0, 1.0, 9.0, 1e-9, 0.8, 0.1, 7.0, "DE", METHOD_VERSION))
    ledger.flush()
    (row,) = ledger.totals(group_by=("team",))
    assert (row["co2e_market_g"], row["co2e_market_g_low"], row["co2e_market_g_high"]) == \
        (0.8, 0.1, 7.0)
    assert row["calls"] == 2 and row["grid_zones"] == ["DE"] and ledger.integrity_ok()
    cols = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(usage)")]
    assert cols[-4:] == [*MARKET, "regime"]  # each added column after the older ones


def test_rows_of_the_layout_before_market_sums_still_write(tmp_path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    ledger.add((60, "a", "openai", "gpt-4o", "chat", "{}", 2.0, 1.0, 1.0, 1, 5, 5, 0.5, 2.0,
                0.25, 0.1, 0.9, 3.0, 1.0, 9.0, 1e-9, "US", METHOD_VERSION))
    ledger.flush()
    (row,) = ledger.totals(group_by=("team",))
    assert row["co2e_market_g"] == 0.0 and row["grid_zones"] == ["US"]
    assert row["adpe_kgsbeq"] == 1e-9


def test_a_non_finite_market_sum_drops_only_its_row(tmp_path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    good = (60, "a", "openai", "gpt-4o", "chat", "{}", 2.0, 1.0, 1.0, 1, 5, 5, 0.5, 2.0,
            0.25, 0.1, 0.9, 3.0, 1.0, 9.0, 1e-9, 0.8, 0.1, 7.0, "DE", METHOD_VERSION)
    ledger.add(good)
    ledger.add((*good[:21], float("nan"), *good[22:]))
    ledger.flush()
    (row,) = ledger.totals(group_by=("team",))
    assert row["calls"] == 1 and row["co2e_market_g"] == 0.8


def test_a_period_with_older_rows_counts_their_location_based_co2e_as_market(
        tmp_path, capsys) -> None:
    """Old rows (no market-based figure) beside new ones counted 0 in the market-based sums,
    so a period spanning the upgrade under-reported them; their location-based CO2e now
    stands in (the GHG Protocol's grid-average fallback), per group, and says how much."""
    path = _old_ledger(tmp_path / "old.db")
    ledger = Ledger(path)
    ledger.add((120, "a", "openai", "gpt-4o", "chat", "{}", 2.0, 1.0, 1.0, 1, 5, 5, 0.5, 2.0,
                0.25, 0.1, 0.9, 3.0, 1.0, 9.0, 1e-9, 0.8, 0.1, 7.0, "DE", METHOD_VERSION))
    ledger.add((120, "b", "openai", "gpt-4o", "chat", "{}", 2.0, 1.0, 1.0, 1, 5, 5, 0.5, 2.0,
                0.25, 0.1, 0.9, 3.0, 1.0, 9.0, 1e-9, 0.8, 0.1, 7.0, "DE", METHOD_VERSION))
    ledger.flush()
    rows = {r["team"]: r for r in ledger.totals(group_by=("team",))}
    a, b = rows["a"], rows["b"]
    assert (a["co2e_market_g"], a["co2e_market_g_low"], a["co2e_market_g_high"]) == \
        pytest.approx((1.8, 0.6, 9.0))
    assert a["co2e_market_standin_g"] == 1.0
    assert b["co2e_market_g"] == 0.8 and "co2e_market_standin_g" not in b
    only_old = ledger.totals(group_by=("team",), until=100)
    assert only_old[0]["co2e_market_g"] == 0.0  # nothing recorded: not made up
    ledger.close()
    from wattmeter.report._data import load

    data = load(str(path), None, None, __import__("datetime").timezone.utc)
    assert data.has_market and data.market_standin_g == 1.0
    assert data.total["co2e_market_g"] == pytest.approx(2.6)
    assert data.by_team["a"]["co2e_market_g"] == pytest.approx(1.8)
