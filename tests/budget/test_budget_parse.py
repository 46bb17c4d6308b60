"""Budget definitions: readable units, periods, validation errors, configuration sources."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

import wattmeter
from wattmeter import _config
from wattmeter.budget import Budget, parse_budgets, parse_limit, parse_period


@pytest.mark.parametrize(("text", "metric", "value"), [
    ("5 kWh", "energy", 5000.0), ("250Wh", "energy", 250.0), ("1 MWh", "energy", 1e6),
    ("3.6 MJ", "energy", 1000.0), ("7200 J", "energy", 2.0),
    ("20 kgCO2e", "co2e", 20000.0), ("500 gCO2e", "co2e", 500.0), ("1 tCO2e", "co2e", 1e6),
    ("2 kg CO2e", "co2e", 2000.0), ("3 kgCO2", "co2e", 3000.0),
])
def test_readable_limits(text: str, metric: str, value: float) -> None:
    got_metric, got = parse_limit(text)
    assert got_metric == metric
    assert got == pytest.approx(value)


@pytest.mark.parametrize("text", ["5", "kWh", "5 parsecs", "5 mWh", ""])
def test_bad_limits_name_the_form(text: str) -> None:
    with pytest.raises(ValueError, match="expected a number with a unit"):
        parse_limit(text)


@pytest.mark.parametrize("text", ["-1 kWh", "0 Wh", "-2.5e3 kgCO2e"])
def test_limits_that_are_not_positive_say_so(text: str) -> None:
    """A negative limit is a number with a unit: the error says what is wrong with it."""
    with pytest.raises(ValueError, match=r"expected a positive amount"):
        parse_limit(text)


def test_budget_forms() -> None:
    b = Budget(team="search", limit="5 kWh", period="day")
    assert (b.metric, b.limit, b.limit_wh, b.limit_co2e_g, b.unit) == (
        "energy", 5000.0, 5000.0, None, "Wh")
    c = Budget(team="search", limit_co2e_g=20, period="30d", labels={"feature": "ac"})
    assert (c.metric, c.limit_co2e_g, c.period.rolling, c.labels) == (
        "co2e", 20.0, True, {"feature": "ac"})
    assert c.name == "search/30d/co2e/feature=ac"
    assert b.thresholds == (0.5, 0.8, 1.0) and b.actions == ("metrics", "log")
    assert wattmeter.Budget is Budget


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"limit": "5 kWh", "limit_wh": 3}, "exactly one of"),
    ({}, "exactly one of"),
    ({"limit": 5}, "a bare number has no unit"),
    ({"limit_wh": -2}, "positive"),
    ({"limit_wh": "lots"}, "limit_wh: got 'lots'"),
    ({"limit": "5 kWh", "period": "fortnight"}, "period: got 'fortnight'"),
    ({"limit": "5 kWh", "period": "10s"}, "at least one minute"),
    ({"limit": "5 kWh", "actions": ["raise", "email"]}, "unknown action 'email'"),
    ({"limit": "5 kWh", "actions": ["callback"]}, "callback= is not set"),
    ({"limit": "5 kWh", "thresholds": [0, 1]}, "thresholds"),
    ({"limit": "5 kWh", "labels": {"bad-name": "x"}}, "must be an identifier"),
    ({"limit": "5 kWh", "webhook_url": "ftp://x"}, "webhook_url"),
])
def test_bad_budgets_name_budget_and_field(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        Budget(team="search", **kwargs)
    assert "search" in str(info.value)


def test_tables_from_toml_and_env(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "wattmeter.toml").write_text(
        '[[budgets]]\nteam = "search"\nlimit = "5 kWh"\nperiod = "week"\n'
        'actions = ["log", "raise"]\nthresholds = [0.9]\n')
    _config.reset()
    cfg = _config.current()
    (b,) = cfg.budgets
    assert (b.team, b.limit, b.period.kind, b.actions, b.thresholds) == (
        "search", 5000.0, "week", ("log", "raise"), (0.9,))
    monkeypatch.setenv("WATTMETER_BUDGETS", json.dumps(
        [{"team": "ads", "limit": "20 kgCO2e", "period": "month"}]))
    _config.reset()
    (b,) = _config.current().budgets
    assert (b.team, b.metric, b.limit) == ("ads", "co2e", 20000.0)


def test_table_errors() -> None:
    with pytest.raises(ValueError, match="unknown field 'limt'"):
        parse_budgets([{"team": "a", "limt": "5 kWh"}])
    with pytest.raises(ValueError, match="team: missing"):
        parse_budgets([{"limit": "5 kWh"}])
    with pytest.raises(ValueError, match="write it with a unit"):
        parse_budgets([{"team": "a", "limit": 5}])
    with pytest.raises(ValueError, match="two budgets named"):
        parse_budgets([Budget(team="a", limit="1 Wh"), Budget(team="a", limit="2 Wh")])
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_budgets("[{team")
    with pytest.raises(ValueError, match="exactly one of"):
        _config.configure(budgets=[{"team": "a"}])


def test_calendar_periods_in_a_time_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    now = datetime(2026, 3, 29, 12, 0, tzinfo=paris).timestamp()  # DST starts that night
    start, end = parse_period("day").bounds(now, paris)
    assert datetime.fromtimestamp(start, paris) == datetime(2026, 3, 29, tzinfo=paris)
    assert end - start == 23 * 3600  # the short day
    start, end = parse_period("week").bounds(now, paris)
    assert datetime.fromtimestamp(start, paris).weekday() == 0
    assert datetime.fromtimestamp(start, paris).date().isoformat() == "2026-03-23"
    start, end = parse_period("month").bounds(
        datetime(2026, 12, 31, 23, 59, tzinfo=paris).timestamp(), paris)
    assert datetime.fromtimestamp(end, paris) == datetime(2027, 1, 1, tzinfo=paris)
    p = parse_period("12h")
    assert p.bounds(100000.0, paris) == (100000.0 - 43200, 100000.0)
    assert p.key(0) == "rolling"


def test_negative_readable_limit_says_positive_amount() -> None:
    """`limit="-1 Wh"` said "expected a number with a unit" (issue 20); it is one."""
    from wattmeter.budget import Budget

    with pytest.raises(ValueError, match=r"limit: got '-1 Wh'; expected a positive amount"):
        Budget(team="a", limit="-1 Wh")
    with pytest.raises(ValueError, match="expected a positive amount"):
        Budget(team="a", limit="-2.5e3 kgCO2e")
