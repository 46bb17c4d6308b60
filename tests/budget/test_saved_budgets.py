"""The ledger remembers the budgets in force; ``ledger_always`` records without budgets."""

from __future__ import annotations

from pathlib import Path

import wattmeter
from wattmeter import Usage
from wattmeter._meter import record
from wattmeter.budget import Budget, Ledger, close, current_manager, parse_budgets


def test_budget_to_table_round_trips() -> None:
    b = Budget(team="search", limit="20 kgCO2e", period="week", labels={"feature": "a"},
               model="gpt-4o", actions=("metrics", "log", "callback"),
               callback=lambda e: None, thresholds=(0.5, 0.9))
    (back,) = parse_budgets([b.to_table()])
    assert (back.team, back.metric, back.limit, back.period.text) == (
        "search", b.metric, b.limit, "week")
    assert back.labels == {"feature": "a"} and back.model == "gpt-4o"
    assert back.actions == ("metrics", "log") and back.thresholds == (0.5, 0.9)
    assert back.name == b.name


def test_manager_saves_budget_definitions(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    wattmeter.configure(budgets=[Budget(team="t", limit_wh=5, period="day")],
                        ledger_path=str(path), prometheus=False)
    record(Usage("openai", "gpt-4o", input_tokens=10, output_tokens=10))
    close()
    saved = Ledger(path).saved_budgets()
    assert [(b["team"], b["limit_wh"], b["period"]) for b in saved] == [("t", 5.0, "day")]


def test_ledger_always_records_without_budgets(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    wattmeter.configure(ledger_always=True, ledger_path=str(path), prometheus=False)
    with wattmeter.attribute(team="x"):
        record(Usage("openai", "gpt-4o", input_tokens=100, output_tokens=10))
    mgr = current_manager()
    assert mgr is not None
    mgr.flush()
    rows = Ledger(path).totals(group_by=("team",))
    assert [(r["team"], r["calls"]) for r in rows] == [("x", 1)]
    assert Ledger(path).saved_budgets() == []
