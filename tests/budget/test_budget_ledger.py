"""The SQLite ledger: concurrent threads and processes, SIGKILL safety, the read API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from budget_helpers import Clock, fp, manager

from wattmeter import Budget
from wattmeter.budget import BudgetManager, Ledger

HERE = Path(__file__).parent


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get(
        "PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_threads_record_without_lost_updates(tmp_path) -> None:
    b = Budget(team="search", limit="1 MWh", period="day")
    mgr = BudgetManager(None, budgets=[b], ledger_path=str(tmp_path / "l.db"),
                        ledger_flush_s=0.02, prometheus=False)  # background writer on

    def work() -> None:
        for _ in range(250):
            mgr.record(fp(wh=0.5))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    mgr.flush()
    assert mgr.status()[0].used == pytest.approx(1000.0)
    (row,) = Ledger(tmp_path / "l.db").totals(group_by=("team",))
    assert (row["calls"], row["input_tokens"]) == (2000, 20000)
    assert row["energy_wh"] == pytest.approx(1000.0)
    mgr.close()
    assert mgr.errors == []


WORKER = """
    import sys
    from budget_helpers import fp
    from wattmeter import Budget
    from wattmeter.budget import BudgetManager

    mgr = BudgetManager(None, budgets=[Budget(team="search", limit="1 MWh", period="day")],
                        ledger_path=sys.argv[1], ledger_flush_s=0.01, prometheus=False)
    for i in range(300):
        mgr.record(fp(wh=0.25, model=f"m{i % 3}"))
    mgr.close()
    print(len(mgr.errors))
"""


def test_processes_share_one_ledger_without_lost_updates(tmp_path) -> None:
    path = str(tmp_path / "shared.db")
    procs = [_python(WORKER, path) for _ in range(3)]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert out.strip() == "0"
    ledger = Ledger(path)
    rows = ledger.totals(group_by=("model",))
    assert [r["model"] for r in rows] == ["m0", "m1", "m2"]
    assert [r["calls"] for r in rows] == [300, 300, 300]
    assert sum(r["energy_wh"] for r in rows) == pytest.approx(225.0)
    assert ledger.integrity_ok()


KILLED = """
    import sys
    from budget_helpers import fp
    from wattmeter.budget import Ledger
    from wattmeter.budget._ledger import labels_json

    ledger = Ledger(sys.argv[1])
    n = 0
    while True:
        for _ in range(7):
            f = fp(wh=1.0)
            n += 1
            ledger.add((n // 50 * 60, f.team, f.provider, f.model, f.operation,
                        labels_json({"k": str(n % 5)}), 1.0, 0.4, 0.5, 1, 10, 10))
        ledger.flush()
        print(n, flush=True)  # acknowledged: every record up to n is committed
"""


def test_sigkill_mid_stream_keeps_every_acknowledged_record(tmp_path) -> None:
    path = str(tmp_path / "killed.db")
    for _ in range(2):  # twice: the second writer appends to what the first left
        before = Ledger(path).totals(group_by=())[0]["calls"] if os.path.exists(path) else 0
        proc = _python(KILLED, path)
        assert proc.stdout is not None
        acked = 0
        deadline = time.monotonic() + 30
        while acked < 700 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked = int(line)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert acked >= 700, proc.stderr.read() if proc.stderr else ""
        ledger = Ledger(path)
        assert ledger.integrity_ok()
        calls = ledger.totals(group_by=())[0]["calls"] - before
        assert calls >= acked  # nothing acknowledged is lost
        assert calls % 7 == 0  # a batch is all or nothing
        ledger.close()


def test_totals_groups_by_columns_labels_and_time(tmp_path) -> None:
    clock = Clock(datetime(2026, 5, 4, 23, 30, tzinfo=timezone.utc).timestamp())
    mgr = manager(tmp_path, [Budget(team="search", limit_wh=100)], clock)
    mgr.record(fp(wh=1, labels={"feature": "ac"}))
    mgr.record(fp(team="ads", wh=2, model="claude"))
    clock.advance(3600)  # the next UTC day
    mgr.record(fp(wh=4, labels={"feature": "chat"}))
    mgr.flush()
    ledger = mgr.ledger
    by_day = ledger.totals(group_by=("day", "team"))
    assert [(r["day"], r["team"], r["energy_wh"]) for r in by_day] == [
        ("2026-05-04", "ads", 2.0), ("2026-05-04", "search", 1.0),
        ("2026-05-05", "search", 4.0)]
    by_feature = ledger.totals(group_by=("label:feature",), where={"team": "search"})
    assert [(r["label:feature"], r["calls"]) for r in by_feature] == [("ac", 1), ("chat", 1)]
    since = clock() - 60
    assert [r["energy_wh"] for r in ledger.totals(since=since, group_by=())] == [4.0]
    tokyo = ledger.totals(group_by=("day",), tz=__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert [r["day"] for r in tokyo] == ["2026-05-05"]
    assert ledger.used("search", 0, clock() + 60, labels={"feature": "chat"}) == 4.0
    with pytest.raises(ValueError, match="group_by: got 'colour'"):
        ledger.totals(group_by=("colour",))
    mgr.close()


EXITING = """
    import os, sys
    import wattmeter
    from wattmeter import _meter
    from wattmeter._usage import Usage

    wattmeter.configure(budgets=[{"team": "search", "limit": "1 kWh", "period": "day"}],
                        ledger_path=sys.argv[1], ledger_flush_s=60, prometheus=False)
    with wattmeter.attribute(team="search"):
        _meter.record(Usage("openai", "gpt-4o", "chat", input_tokens=10, output_tokens=10))
        if sys.argv[2] == "fork":
            pid = os.fork()
            _meter.record(Usage("openai", "gpt-4o", "chat", input_tokens=10,
                                output_tokens=10))
            if pid == 0:
                sys.exit(0)  # the child's atexit flush writes only its own record
            os.waitpid(pid, 0)
        for _ in range(4):
            _meter.record(Usage("openai", "gpt-4o", "chat", input_tokens=10, output_tokens=10))
    # no flush, no close: the atexit hook writes what the background writer has not
"""


@pytest.mark.parametrize(("mode", "calls"), [("plain", 5), ("fork", 7)])
def test_exit_flushes_and_a_fork_does_not_write_twice(tmp_path, mode: str, calls: int) -> None:
    path = str(tmp_path / "exit.db")
    proc = _python(EXITING, path, mode)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    (row,) = Ledger(path).totals(group_by=("team",))
    assert row["calls"] == calls
