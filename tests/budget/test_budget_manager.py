"""The budget manager with an injected clock: totals, rollover, thresholds, enforcement."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest
from budget_helpers import Clock, fp, manager

from wattmeter import Budget, BudgetExceededError
from wattmeter.budget import BudgetEvent

DAY0 = datetime(2026, 5, 4, 8, 0, tzinfo=timezone.utc).timestamp()  # a Monday, 08:00 UTC


def test_thresholds_fire_once_per_period_across_a_rollover(tmp_path) -> None:
    events: list[BudgetEvent] = []
    clock = Clock(DAY0)
    b = Budget(team="search", limit_wh=10, period="day", actions=("callback",),
               callback=events.append)
    mgr = manager(tmp_path, [b], clock)
    for _ in range(4):
        mgr.record(fp(wh=1.5))  # 6 Wh: past 50%
        mgr.sync()
        mgr.sync()
    mgr.dispatcher.wait()
    assert [e.threshold for e in events] == [0.5]
    for _ in range(4):
        mgr.record(fp(wh=1.5))  # 12 Wh: past 80% and 100% in one cycle
    mgr.sync()
    mgr.sync()
    mgr.dispatcher.wait()
    assert [e.threshold for e in events] == [0.5, 0.8, 1.0]
    assert events[-1].used == pytest.approx(12.0)
    assert events[-1].period_end == DAY0 + 16 * 3600

    clock.advance(16 * 3600 + 1)  # the next day: use starts from zero, thresholds re-arm
    assert mgr.status()[0].used == pytest.approx(0.0)
    mgr.record(fp(wh=6))
    mgr.sync()
    mgr.dispatcher.wait()
    assert [e.threshold for e in events] == [0.5, 0.8, 1.0, 0.5]
    assert events[-1].period_start == DAY0 + 16 * 3600
    mgr.close()


def test_a_restart_neither_forgets_use_nor_repeats_events(tmp_path) -> None:
    events: list[BudgetEvent] = []
    clock = Clock(DAY0)
    b = Budget(team="search", limit_wh=10, period="week", actions=("callback",),
               callback=events.append)
    mgr = manager(tmp_path, [b], clock)
    mgr.record(fp(wh=7))
    mgr.sync()
    mgr.close()
    clock.advance(3600)
    again = manager(tmp_path, [b], clock)  # the "restarted" process
    assert again.status()[0].used == pytest.approx(7.0)
    again.sync()
    again.dispatcher.wait()
    mgr.dispatcher.wait()
    assert [e.threshold for e in events] == [0.5]
    again.record(fp(wh=1.5))
    again.sync()
    again.dispatcher.wait()
    assert [e.threshold for e in events] == [0.5, 0.8]
    again.close()


def test_raise_refuses_only_spent_raise_budgets_of_the_call(tmp_path) -> None:
    clock = Clock(DAY0)
    budgets = [
        Budget(team="search", limit_wh=5, period="day", actions=("raise",)),
        Budget(team="search", limit_wh=1, period="day", labels={"feature": "chat"},
               actions=("log",), name="chat-soft"),
        Budget(team="search", limit_wh=2, period="day", model="gpt-image-1",
               actions=("raise",), name="images"),
    ]
    mgr = manager(tmp_path, budgets, clock)
    mgr.record(fp(wh=3, labels={"feature": "chat"}))
    mgr.check("search", {"feature": "chat"}, "openai", "gpt-4o", "chat")  # soft: no raise
    mgr.record(fp(wh=2.5, model="gpt-image-1", operation="image"))
    with pytest.raises(BudgetExceededError) as info:
        mgr.check("search", {}, "openai", "gpt-4o", "chat")
    err = info.value
    assert (err.team, err.used, err.limit, err.unit) == ("search", 5.5, 5.0, "Wh")
    assert err.budget is budgets[0]
    assert "not sent" in str(err)
    mgr.check("ads", {}, "openai", "gpt-4o", "chat")  # another team: no budget, no raise
    clock.advance(16 * 3600)  # a new day: allowed again
    mgr.check("search", {}, "openai", "gpt-4o", "chat")
    mgr.close()


def test_co2e_budget_and_rolling_window_rearm(tmp_path) -> None:
    events: list[BudgetEvent] = []
    clock = Clock(DAY0)
    b = Budget(team="search", limit="10 gCO2e", period="2h", thresholds=(0.5,),
               actions=("callback", "raise"), callback=events.append)
    mgr = manager(tmp_path, [b], clock)
    mgr.record(fp(wh=100, co2e_g=6))
    mgr.sync()
    clock.advance(3600)
    mgr.record(fp(wh=100, co2e_g=5))
    mgr.sync()
    mgr.dispatcher.wait()
    assert [e.threshold for e in events] == [0.5]
    with pytest.raises(BudgetExceededError):
        mgr.check("search", {}, "openai", "gpt-4o", "chat")
    clock.advance(3600 + 120)  # the first record left the window: 5 g, below the limit
    mgr.sync()
    assert mgr.status()[0].used == pytest.approx(5.0)
    mgr.check("search", {}, "openai", "gpt-4o", "chat")
    clock.advance(3600 + 120)  # all gone: the 50% threshold re-arms
    mgr.sync()
    mgr.record(fp(wh=1, co2e_g=5))
    mgr.sync()
    mgr.dispatcher.wait()
    assert [e.threshold for e in events] == [0.5, 0.5]
    mgr.close()


def test_status_forecast_and_log_action(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(DAY0)  # 8 h into the day
    mgr = manager(tmp_path, [Budget(team="search", limit="1 kWh", period="day")], clock)
    mgr.record(fp(wh=600))
    with caplog.at_level(logging.WARNING, logger="wattmeter"):
        mgr.sync()
        mgr.dispatcher.wait()
    (s,) = mgr.status()
    assert (s.used, s.ratio, s.remaining) == (600.0, 0.6, 400.0)
    assert s.forecast == pytest.approx(1800.0)  # 600 Wh in 8 h -> 1.8 kWh by midnight
    assert s.period_end == DAY0 + 16 * 3600
    assert "50% of 1 kWh used this day" in caplog.text
    assert s.to_dict()["period_end_iso"] == "2026-05-05T00:00:00+00:00"
    mgr.close()


def test_fail_closed_when_the_ledger_is_unusable(tmp_path) -> None:
    clock = Clock(DAY0)
    (tmp_path / "dir").mkdir()
    budgets = [Budget(team="search", limit_wh=5, period="day", actions=("raise",))]
    mgr = manager(tmp_path, budgets, clock, ledger_path=str(tmp_path / "dir"))
    mgr.check("search", {}, "openai", "gpt-4o", "chat")  # fail open by default
    assert not mgr.status()[0].verified
    closed = manager(tmp_path, budgets, clock, ledger_path=str(tmp_path / "dir"),
                     fail_closed=True)
    with pytest.raises(BudgetExceededError, match="can't be verified"):
        closed.check("search", {}, "openai", "gpt-4o", "chat")
    closed.check("ads", {}, "openai", "gpt-4o", "chat")  # no raise budget: unaffected
    closed.record(fp(wh=1))  # kept in memory while the ledger is down
    assert closed.status()[0].used == pytest.approx(1.0)


def test_gauges_follow_use(tmp_path) -> None:
    from prometheus_client import REGISTRY

    clock = Clock(DAY0)
    b = Budget(team="gauged", limit_wh=10, period="day", name="gauged-day")
    from wattmeter.export.prometheus import set_budget_status

    mgr = manager(tmp_path, [b], clock, prometheus=True, publish=set_budget_status)
    labels = {"team": "gauged", "budget": "gauged-day"}
    assert REGISTRY.get_sample_value("wattmeter_budget_limit_joules", labels) == 36000.0
    mgr.record(fp(team="gauged", wh=2))
    mgr.sync()
    assert REGISTRY.get_sample_value("wattmeter_budget_used_joules", labels) == 7200.0
    assert REGISTRY.get_sample_value("wattmeter_budget_forecast_joules", labels) == 21600.0
    mgr.close()
