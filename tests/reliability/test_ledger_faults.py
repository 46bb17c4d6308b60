"""The SQLite ledger under faults: locked by another process, unwritable, fed rows it
can't store (issue 12, defects 1 and 2). Every wait is bounded."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from budget_fleet_helpers import footprint

import wattmeter
from wattmeter import Budget, _guard, _meter
from wattmeter._usage import Usage
from wattmeter.budget import BudgetManager

WAIT_S = 5.0  # far below SQLite's old 30 s busy timeout: only a wait on the lock reaches it

_LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("CREATE TABLE IF NOT EXISTS x (a)")
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def locked_ledger(tmp_path) -> Iterator[str]:
    """A ledger file held under an exclusive lock by another process until the test ends."""
    path = str(tmp_path / "locked.sqlite3")
    proc = subprocess.Popen([sys.executable, "-c", _LOCKER, path], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    yield path
    proc.kill()
    proc.wait(5)


def _finishes(fn: Callable[[], Any], within: float = WAIT_S) -> bool:
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    t.join(within)
    return not t.is_alive()


def _budgets() -> list[Budget]:
    return [Budget(team="search", limit="1 MWh", period="day")]


def _call() -> None:
    with wattmeter.attribute(team="search"):
        _meter.start_call("openai", "gpt-4o", "chat").finish(
            Usage("openai", "gpt-4o", "chat", input_tokens=10, output_tokens=10))


def test_configure_returns_while_another_process_locks_the_ledger(locked_ledger: str) -> None:
    assert _finishes(lambda: wattmeter.configure(
        budgets=_budgets(), ledger_path=locked_ledger, prometheus=False)), \
        "configure() waited for the ledger lock"
    assert _finishes(_call), "the first call waited for the ledger lock"


_FIRST_CALL = """
import time, wattmeter
from wattmeter import _meter
from wattmeter._usage import Usage
t = time.perf_counter()
with wattmeter.attribute(team="search"):
    _meter.start_call("openai", "gpt-4o", "chat").finish(
        Usage("openai", "gpt-4o", "chat", input_tokens=10, output_tokens=10))
print("called", time.perf_counter() - t, flush=True)
"""


def test_the_first_call_with_env_only_configuration_does_not_wait(locked_ledger: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTMETER_")}
    env.update(WATTMETER_BUDGETS='[{"team": "search", "limit": "1 MWh"}]',
               WATTMETER_LEDGER_PATH=locked_ledger, WATTMETER_PROMETHEUS="false",
               PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", _FIRST_CALL], env=env,
                            stdout=subprocess.PIPE, text=True)
    lines: list[str] = []
    assert proc.stdout is not None
    out = proc.stdout
    reader = threading.Thread(target=lambda: lines.append(out.readline()), daemon=True)
    reader.start()
    reader.join(WAIT_S + 5)  # + interpreter start
    proc.kill()
    proc.wait(5)
    assert lines and lines[0].startswith("called"), "the first metered call waited"


def _unwritable(tmp_path: Any) -> str:
    """A ledger path whose directory is a regular file: every write fails at once."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    return str(blocker / "ledger.sqlite3")


def _manager(path: str) -> BudgetManager:
    return BudgetManager(None, background=False, budgets=_budgets(), ledger_path=path,
                         prometheus=False)


def test_rows_sqlite_rejects_are_dropped_and_counted_and_the_rest_written(tmp_path) -> None:
    mgr = _manager(str(tmp_path / "l.db"))
    before = sum(_guard.error_counts.values())
    for _ in range(5):
        mgr.record(footprint())
    mgr.record(footprint(wh=float("nan")))
    mgr.record(footprint(tokens=10**30))
    mgr.record(footprint(team="bad\ud800team"))
    mgr.record(footprint(model="m\udfff"))
    for _ in range(3):
        mgr.sync()
    rows = mgr.ledger.totals(group_by=("team",))
    mgr.close()
    assert [(r["team"], r["calls"]) for r in rows] == [("search", 5)]
    assert mgr.ledger.pending() == 0
    assert sum(_guard.error_counts.values()) - before >= 4


def test_rows_are_not_lost_because_a_bad_row_shares_their_minute(tmp_path) -> None:
    mgr = _manager(str(tmp_path / "l.db"))
    for i in range(100):
        mgr.record(footprint(tokens=10**30 if i == 50 else 10))
    mgr.sync()
    rows = mgr.ledger.totals(group_by=("team",))
    mgr.close()
    assert [r["calls"] for r in rows] == [99]


def test_the_queue_stays_aggregated_while_the_ledger_is_unwritable(tmp_path) -> None:
    mgr = _manager(_unwritable(tmp_path))
    for _ in range(20):
        for _ in range(500):
            mgr.record(footprint())
        mgr.sync()  # fails: the rows go back, merged per key and minute
    assert mgr.ledger.pending() <= 2  # one row per key and minute, not 10,000
    assert mgr.status()[0].used == pytest.approx(20 * 500 * 0.01)  # in-memory total kept
    mgr.close(0.1)


def test_the_queue_is_capped_and_drops_are_counted(tmp_path) -> None:
    mgr = _manager(_unwritable(tmp_path))
    mgr.ledger.max_queue = 100
    before = _guard.error_counts.get("budget_ledger_queue", 0)
    for i in range(1000):
        mgr.record(footprint(model=f"model-{i}"))  # 1,000 distinct keys
    assert mgr.ledger.pending() <= 100
    mgr.sync()
    assert mgr.ledger.pending() <= 100
    assert _guard.error_counts.get("budget_ledger_queue", 0) - before >= 900
    mgr.close(0.1)


def test_a_persistent_fault_is_logged_once_then_counted(tmp_path, caplog) -> None:
    before = _guard.error_counts.get("budget_ledger", 0)
    with caplog.at_level(logging.WARNING, logger="wattmeter"):
        mgr = _manager(_unwritable(tmp_path))  # its first cycle fails too
        for _ in range(10):
            mgr.record(footprint())
            mgr.sync()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) <= 1, [r.getMessage() for r in warnings]
    assert _guard.error_counts.get("budget_ledger", 0) - before >= 10
    mgr.close(0.1)


def test_the_ledger_catches_up_when_the_lock_is_released(tmp_path) -> None:
    path = str(tmp_path / "late.sqlite3")
    proc = subprocess.Popen([sys.executable, "-c", _LOCKER, path], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        mgr = BudgetManager(None, budgets=_budgets(), ledger_path=path, prometheus=False,
                            ledger_flush_s=0.05)
        for _ in range(30):
            mgr.record(footprint())
    finally:
        proc.kill()
        proc.wait(5)
    deadline = time.monotonic() + 3 * WAIT_S
    while time.monotonic() < deadline and (mgr.ledger.pending() or not os.path.exists(path)):
        time.sleep(0.05)
    mgr.close()
    assert [r["calls"] for r in mgr.ledger.totals(group_by=("team",))] == [30]


def test_concurrent_first_opens_of_a_new_ledger_wait_instead_of_failing(tmp_path) -> None:
    """Three writers open one new ledger file at once (gunicorn workers starting together):
    SQLite skips the busy handler for the switch to WAL, which failed 3-4 in 200 such
    starts with "database is locked" before the switch was retried."""
    import threading

    from wattmeter.budget import Ledger

    errors: list[BaseException] = []
    for trial in range(150):
        path = tmp_path / f"new-{trial}.sqlite3"
        start = threading.Barrier(3)

        def open_and_write(path=path, start=start) -> None:
            start.wait()
            try:
                ledger = Ledger(path)
                ledger.add((0, "t", "openai", "gpt-4o", "chat", "{}", 1.0, 1.0, 1.0, 1, 1, 1))
                ledger.flush()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_and_write) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert errors == []
