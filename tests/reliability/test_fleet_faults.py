"""Fleet budgets under a hostile Prometheus: trickled bytes, garbage numbers (issue 12,
defects 1 and 5). Loopback servers only; every wait is bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fault_servers import Server, prometheus_answer, trickle

import wattmeter
from wattmeter import Budget, _guard
from wattmeter.budget import BudgetManager, FleetSource

WAIT_S = 5.0  # far above the 0.3 s deadline: only a hang reaches it


def _finishes(fn: Callable[[], Any], within: float = WAIT_S) -> tuple[bool, Any]:
    """Run `fn` on a daemon thread; (finished, result or exception)."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as exc:
            out.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(within)
    return not t.is_alive(), (out[0] if out else None)


@pytest.fixture
def trickling() -> Iterator[Server]:
    with Server(trickle(0.05)) as server:
        yield server


def _budget(**kw: Any) -> Budget:
    return Budget(team="search", limit_wh=10, period="day", actions=("raise",), **kw)


def test_a_trickling_prometheus_is_cut_off_at_the_total_deadline(trickling: Server) -> None:
    source = FleetSource(trickling.url, timeout_s=0.3)
    done, result = _finishes(lambda: source.query("vector(1)", time.time()))
    assert done, "the query outlived its deadline many times over"
    assert type(result).__name__ == "FleetError"


def test_configure_returns_while_prometheus_trickles(tmp_path, trickling: Server) -> None:
    done, result = _finishes(lambda: wattmeter.configure(
        budgets=[_budget()], ledger="prometheus", prometheus_url=trickling.url,
        fleet_timeout_s=0.3, ledger_path=str(tmp_path / "l.db"), prometheus=False))
    assert done, "configure() waited on Prometheus"
    assert not isinstance(result, BaseException), result


def test_a_hanging_fleet_query_does_not_stop_ledger_writes(tmp_path, trickling: Server) -> None:
    from budget_fleet_helpers import footprint

    made: list[BudgetManager] = []
    done, _ = _finishes(lambda: made.append(BudgetManager(
        None, budgets=[_budget()], ledger="prometheus", prometheus_url=trickling.url,
        fleet_timeout_s=30, fleet_ttl_s=0, ledger_flush_s=0.02, prometheus=False,
        ledger_path=str(tmp_path / "l.db"))))
    assert done and made, "the manager's constructor waited on Prometheus"
    mgr = made[0]
    try:
        for _ in range(50):
            mgr.record(footprint())
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and mgr.ledger.pending():
            time.sleep(0.02)
        written = mgr.ledger.totals(group_by=("team",))
        assert [r["calls"] for r in written] == [50]
    finally:
        trickling.stop.set()
        mgr.close(1.0)


@pytest.mark.parametrize("value", ["+Inf", "NaN", "-1e12", "1e400", "twelve"])
def test_garbage_fleet_answers_are_refused_and_counted(tmp_path, value: str) -> None:
    before = _guard.error_counts.get("budget_fleet", 0)
    with Server(prometheus_answer(value)) as prom:
        mgr = BudgetManager(None, background=False, budgets=[_budget()], ledger="prometheus",
                            prometheus_url=prom.url, fleet_timeout_s=1, prometheus=False,
                            ledger_path=str(tmp_path / "l.db"))
        mgr.sync()
        status = mgr.status()[0]
        mgr.check("search", {}, "openai", "gpt-4o", "chat")  # fail_closed off: not refused
        mgr.close()
    assert status.verified is False
    assert 0 <= status.used < 10
    assert _guard.error_counts.get("budget_fleet", 0) > before


def test_fail_closed_refuses_on_garbage_as_on_an_unreachable_fleet(tmp_path) -> None:
    with Server(prometheus_answer("+Inf")) as prom:
        mgr = BudgetManager(None, background=False, budgets=[_budget()], ledger="prometheus",
                            prometheus_url=prom.url, fleet_timeout_s=1, prometheus=False,
                            fail_closed=True, ledger_path=str(tmp_path / "l.db"))
        mgr.sync()
        with pytest.raises(wattmeter.BudgetExceededError, match="can't be verified"):
            mgr.check("search", {}, "openai", "gpt-4o", "chat")
        mgr.close()


def test_a_good_answer_after_garbage_is_used_again(tmp_path) -> None:
    answers = ["NaN", "7200"]  # 7200 J = 2 Wh

    def reply(h: Any) -> None:
        prometheus_answer(answers.pop(0) if len(answers) > 1 else answers[0])(h)

    with Server(reply) as prom:
        mgr = BudgetManager(None, background=False, budgets=[_budget()], ledger="prometheus",
                            prometheus_url=prom.url, fleet_timeout_s=1, fleet_ttl_s=0,
                            prometheus=False, ledger_path=str(tmp_path / "l.db"))
        assert mgr.status()[0].verified is False  # the constructor's first cycle: NaN
        mgr.sync()
        s = mgr.status()[0]
        mgr.close()
    assert s.verified is True
    assert s.used == pytest.approx(2.0)
