"""Fork a busy metered process N times and report children that hang (issue 12, defect 6).

Run as a script: ``python fork_workload.py FORKS LEDGER_PATH``. Four threads meter calls
non-stop while the ledger is flushed every 10 ms (so a thread is often inside SQLite);
from the moment each thread has made 100 calls, the process forks FORKS times; each child
meters one call, then calls ``sys.exit(0)`` (atexit: the ledger's last write). A child
that has not exited 10 s later is a hang: at the call if it never said "called", at exit
otherwise. Prints one JSON line; shared by tests/reliability/test_fork.py
(30 forks) and benchmarks/load.py (150 forks).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time


def _call() -> None:
    import wattmeter
    from wattmeter import _meter
    from wattmeter._usage import Usage

    with wattmeter.attribute(team="search"):
        _meter.start_call("openai", "gpt-4o", "chat").finish(
            Usage("openai", "gpt-4o", "chat", input_tokens=10, output_tokens=10))


def _wait_child(pid: int, ready: int, timeout_s: float) -> str:
    """'ok', 'call' (hung before metering) or 'exit' (hung at exit); kills a hung child."""
    deadline = time.monotonic() + timeout_s
    called = False
    while time.monotonic() < deadline:
        try:
            called = called or bool(os.read(ready, 1))
        except BlockingIOError:
            pass
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if called or os.read(ready, 1):
                return "ok" if os.waitstatus_to_exitcode(status) == 0 else "exit"
            return "call"
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return "exit" if called else "call"


def main(forks: int, ledger: str) -> dict[str, int]:
    import wattmeter
    from wattmeter import Budget
    from wattmeter.budget import current_manager

    wattmeter.configure(budgets=[Budget(team="search", limit="1 MWh", period="day")],
                        ledger_path=ledger, ledger_flush_s=0.01)
    stop = threading.Event()
    made = [0] * 4

    def busy(i: int) -> None:
        while not stop.is_set():
            _call()
            made[i] += 1

    threads = [threading.Thread(target=busy, args=(i,), daemon=True) for i in range(4)]
    for t in threads:
        t.start()
    # Steady state: every thread past its first calls, whose lazy imports could otherwise
    # leave a per-module import lock held in the child (a CPython limitation at fork).
    while min(made) < 100:
        time.sleep(0.01)
    result = {"forks": forks, "ok": 0, "hung_at_call": 0, "hung_at_exit": 0}
    for _ in range(forks):
        time.sleep(0.005)
        ready, tell = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            os.close(ready)
            import faulthandler

            faulthandler.dump_traceback_later(8)  # a hung child says where, on stderr
            try:
                _call()
                os.write(tell, b"1")
            except BaseException:
                os._exit(3)
            sys.exit(0)
        os.close(tell)
        os.set_blocking(ready, False)
        outcome = _wait_child(pid, ready, 10.0)
        os.close(ready)
        key = {"ok": "ok", "call": "hung_at_call", "exit": "hung_at_exit"}[outcome]
        result[key] += 1
    stop.set()
    for t in threads:
        t.join(5)
    mgr = current_manager()
    assert mgr is not None
    mgr.flush()
    rows = mgr.ledger.totals(group_by=("team",))
    result["parent_calls"] = sum(made)
    result["ledger_calls"] = int(sum(r["calls"] for r in rows))
    return result


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), sys.argv[2])), flush=True)
