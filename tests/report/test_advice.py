"""What each team could change: the suggestions come from the team's own calls, are priced
with wattmeter.estimate(), and carry a range around a positive saving."""

from __future__ import annotations

import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from wattmeter.report import changes, load

sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))  # the report tests' ledgers
try:
    from report_ledgers import write
finally:
    sys.path.pop(0)

UTC = ZoneInfo("UTC")


def test_each_kind_of_change_is_found_where_it_applies(tmp_path: Path) -> None:
    data = load(str(write(tmp_path / "l.db")), None, None, UTC)
    found = changes(data)
    kinds = {team: {c.kind for c in cs} for team, cs in found.items()}
    assert "smaller model" in kinds["search"]  # gpt-4o with 80-token answers
    assert "reasoning" in kinds["research"]  # o3 with long outputs
    assert {"prompt caching", "region"} <= kinds["support"]  # long prompts; Bedrock
    small = next(c for c in found["search"] if c.kind == "smaller model")
    assert "gpt-4o-mini" in small.what and " calls with short outputs" in small.what
    for cs in found.values():
        for c in cs:
            assert 0 < c.saving_g_low <= c.saving_g <= c.saving_g_high
            assert 0 < c.share <= 1
    region = next(c for c in found["support"] if c.kind == "region")
    assert region.saving_wh == 0 and "aws:" in region.what


def test_saving_is_the_ledger_figure_times_the_estimated_cut(tmp_path: Path) -> None:
    import wattmeter

    data = load(str(write(tmp_path / "l.db", [("a", "openai", "gpt-4o", 400, 80, 10, 1)])),
                None, None, UTC)
    c = changes(data)["a"][0]
    cur = wattmeter.estimate("gpt-4o", "openai", input_tokens=400, output_tokens=80)
    new = wattmeter.estimate("gpt-4o-mini", "openai", input_tokens=400, output_tokens=80)
    assert c.saving_g == pytest.approx(10 * cur.co2e_g * (1 - new.co2e_g / cur.co2e_g),
                                       rel=1e-6)


def test_no_change_for_long_outputs_of_a_small_model(tmp_path: Path) -> None:
    data = load(str(write(tmp_path / "l.db", [("a", "openai", "gpt-4o-mini", 200, 800, 5,
                                                1)])), None, None, UTC)
    assert changes(data) == {"a": []}


def test_load_sums_per_team_model_provider_and_time(tmp_path: Path) -> None:
    data = load(str(write(tmp_path / "l.db")), None, None, UTC)
    assert data.teams == ["research", "search", "support"]
    assert data.total["calls"] == 80
    assert sum(s["calls"] for s in data.by_model.values()) == 80
    assert sum(s["co2e_g"] for s in data.by_time_team.values()) == pytest.approx(
        data.total["co2e_g"])
    assert data.step == "minute" and not data.has_market
    with pytest.raises(ValueError, match="no team 'x'"):
        load(str(tmp_path / "l.db"), None, None, UTC, team="x")
    with pytest.raises(ValueError, match="no calls in that period"):
        load(str(tmp_path / "l.db"), 0, 60, UTC)


def test_a_ledger_older_than_the_life_cycle_columns_reads_as_zeros(tmp_path: Path) -> None:
    """Read-only: the report does not add the columns the way a writer does."""
    import sqlite3
    import time

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE usage (bucket INTEGER, team TEXT, provider TEXT, model TEXT, "
                 "operation TEXT, labels TEXT, energy_wh REAL, co2e_g REAL, "
                 "accelerator_wh REAL, calls INTEGER, input_tokens INTEGER, "
                 "output_tokens INTEGER)")
    conn.execute("INSERT INTO usage VALUES (?, 'legacy', 'openai', 'gpt-4o', 'chat', '{}', "
                 "2.0, 0.8, 1.0, 3, 300, 100)", (int(time.time() // 60 * 60),))
    conn.commit()
    conn.close()
    data = load(str(path), None, None, UTC)
    assert data.total["co2e_g"] == 0.8 and data.total["co2e_g_low"] == 0.0
    assert data.total["water_ml"] == 0.0 and not data.method_versions and not data.has_market


def test_one_short_call_is_named_in_the_singular(tmp_path: Path) -> None:
    """A team with one short call read "for the 1 calls" (seen in Chromium)."""
    import time

    import wattmeter
    from wattmeter._version import METHOD_VERSION
    from wattmeter.budget import Ledger

    fp = wattmeter.estimate("gpt-4o", "openai", input_tokens=800, output_tokens=80)
    ledger = Ledger(tmp_path / "one.db")
    ledger.add((int(time.time() // 60 * 60), "solo", "openai", "gpt-4o", "chat", {},
                fp.energy_wh, fp.co2e_g, fp.accelerator_wh, 1, 800, 80, fp.co2e_g_low,
                fp.co2e_g_high, fp.co2e_embodied_g, fp.co2e_embodied_g_low,
                fp.co2e_embodied_g_high, fp.water_ml, fp.water_ml_low, fp.water_ml_high,
                fp.adpe_kgsbeq, fp.co2e_market_g, fp.co2e_market_g_low,
                fp.co2e_market_g_high, fp.grid_zone, METHOD_VERSION))
    ledger.flush()
    ledger.close()
    found = changes(load(str(tmp_path / "one.db"), None, None, UTC))
    small = next(c for c in found["solo"] if c.kind == "smaller model")
    assert "for the call with short outputs" in small.what, small.what
