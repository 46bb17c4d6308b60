"""Enforcement end to end: a spent ``raise`` budget refuses the call before any HTTP request."""

from __future__ import annotations

import pytest

import wattmeter
from wattmeter import Budget, BudgetExceededError, _meter
from wattmeter._usage import Usage
from wattmeter.budget import current_manager


def _configure(tmp_path, **budget) -> None:
    wattmeter.configure(
        budgets=[Budget(team="search", period="day", actions=("raise",), **budget)],
        ledger_path=str(tmp_path / "ledger.sqlite3"), prometheus=False)


def test_start_call_refuses_a_spent_budget(tmp_path) -> None:
    _configure(tmp_path, limit_wh=1e-9)
    with wattmeter.attribute(team="search"):
        call = _meter.start_call("openai", "gpt-4o", "chat")
        call.finish(Usage("openai", "gpt-4o", "chat", input_tokens=400, output_tokens=400))
        wattmeter.flush()  # the total the background thread keeps, brought up to date now
        with pytest.raises(BudgetExceededError) as info:
            _meter.start_call("openai", "gpt-4o", "chat")
    assert info.value.team == "search"
    with wattmeter.attribute(team="ads"):  # other teams are not affected
        _meter.start_call("openai", "gpt-4o", "chat").finish(None)
    mgr = current_manager()
    assert mgr is not None
    mgr.flush()
    rows = mgr.ledger.totals(group_by=("team",))
    assert [(r["team"], r["calls"]) for r in rows] == [("ads", 1), ("search", 1)]


def test_the_openai_client_sends_nothing_once_spent(tmp_path, simulator) -> None:
    openai = pytest.importorskip("openai")
    pytest.importorskip("wattmeter.instrument.openai")
    _configure(tmp_path, limit_wh=1e-9)
    client = openai.OpenAI(base_url=simulator.url + "/v1", api_key="sk-test", max_retries=0)
    with wattmeter.instrument("openai"), wattmeter.attribute(team="search"):
        client.chat.completions.create(model="gpt-4o-mini", max_tokens=5,
                                       messages=[{"role": "user", "content": "hi"}])
        wattmeter.flush()
        sent = len(simulator.requests)
        with pytest.raises(BudgetExceededError):
            client.chat.completions.create(model="gpt-4o-mini", max_tokens=5,
                                           messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(BudgetExceededError):
            client.chat.completions.create(model="gpt-4o-mini", max_tokens=5, stream=True,
                                           messages=[{"role": "user", "content": "hi"}])
        assert len(simulator.requests) == sent  # refused before anything left the process
    with wattmeter.instrument("openai"), wattmeter.attribute(team="ads"):
        client.chat.completions.create(model="gpt-4o-mini", max_tokens=5,
                                       messages=[{"role": "user", "content": "hi"}])
    assert len(simulator.requests) == sent + 1


def test_reconfiguring_replaces_the_manager_and_keeps_the_ledger(tmp_path) -> None:
    _configure(tmp_path, limit_wh=100)
    first = current_manager()
    with wattmeter.attribute(team="search"):
        _meter.start_call("openai", "gpt-4o", "chat").finish(
            Usage("openai", "gpt-4o", "chat", input_tokens=400, output_tokens=400))
    wattmeter.configure(prometheus=False)  # same budget options: same manager
    assert current_manager() is first
    _configure(tmp_path, limit_wh=0.1)  # a new limit: a new manager, same use
    second = current_manager()
    assert second is not first and second is not None
    first.close()  # it writes its queue in the background; wait for that here
    second.flush()  # and the new one reads it in its (background) cycle: run one now
    assert second.status()[0].used == first.status()[0].used > 0
    wattmeter.configure(budgets=[])
    assert current_manager() is None
