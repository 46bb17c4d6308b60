"""Load and faults: exact counts under threads and asyncio, memory over 100k calls, forks
with busy threads, SIGKILL against the ledger (issue 12's probes, as a benchmark).

Run: ``python benchmarks/load.py`` (about two minutes on two cores). Prints one line per
figure; docs/benchmarks.md ("Load and faults") quotes a run. Everything is loopback: the
real openai client against wattmeter's provider simulator, SQLite ledgers in a temp dir.
Options: ``--threads 16 --calls 2000 --async-calls 500 --rss-calls 100000 --forks 150
--kills 20``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wattmeter
from wattmeter import Budget, _meter
from wattmeter._usage import Usage
from wattmeter.budget import Ledger, current_manager

ROOT = Path(__file__).resolve().parent.parent
FORK_WORKLOAD = ROOT / "tests" / "reliability" / "fork_workload.py"
MSG: Any = [{"role": "user", "content": "hi"}]
ASYNC_IN_FLIGHT = 50


def _requests_total(team: str) -> float:
    from prometheus_client import REGISTRY

    return sum(s.value for m in REGISTRY.collect() for s in m.samples
               if s.name == "wattmeter_requests_total" and s.labels.get("team") == team)


def _ledger_calls(team: str) -> int:
    mgr = current_manager()
    assert mgr is not None
    mgr.flush()
    return int(sum(r["calls"] for r in mgr.ledger.totals(group_by=("team",))
                   if r["team"] == team))


def threads_and_async(tmp: Path, n_threads: int, n_calls: int, n_async: int) -> None:
    import openai

    from wattmeter.testing.simulator import Simulator

    wattmeter.configure(budgets=[Budget(team="threads", limit="1000 MWh"),
                                 Budget(team="async", limit="1000 MWh")],
                        ledger_path=str(tmp / "load.sqlite3"))
    with Simulator() as sim, wattmeter.instrument("openai"):
        client = openai.OpenAI(base_url=sim.url + "/v1", api_key="sk-test", max_retries=0)
        errors: list[BaseException] = []

        def worker() -> None:
            with wattmeter.attribute(team="threads"):
                for _ in range(n_calls):
                    try:
                        client.chat.completions.create(model="gpt-4o-mini", messages=MSG,
                                                       max_tokens=5)
                    except BaseException as exc:
                        errors.append(exc)

        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        dt = time.perf_counter() - t0
        made = n_threads * n_calls
        print(f"threads: {n_threads} x {n_calls:,} = {made:,} calls in {dt:.1f} s, "
              f"{len(errors)} errors; Prometheus counted {_requests_total('threads'):,.0f}, "
              f"ledger {_ledger_calls('threads'):,}")

        aclient = openai.AsyncOpenAI(base_url=sim.url + "/v1", api_key="sk-test",
                                     max_retries=0)

        async def many() -> list[object]:
            gate = asyncio.Semaphore(ASYNC_IN_FLIGHT)  # the simulator's listen backlog

            async def one() -> object:
                async with gate:
                    return await aclient.chat.completions.create(
                        model="gpt-4o-mini", messages=MSG, max_tokens=5)

            with wattmeter.attribute(team="async"):
                return await asyncio.gather(*(one() for _ in range(n_async)),
                                            return_exceptions=True)

        t0 = time.perf_counter()
        results = asyncio.run(many())
        dt = time.perf_counter() - t0
        bad = sorted({type(r).__name__ for r in results if isinstance(r, BaseException)})
        n_bad = sum(isinstance(r, BaseException) for r in results)
        print(f"async: {n_async:,} calls ({ASYNC_IN_FLIGHT} in flight) in {dt:.1f} s, "
              f"{n_bad} errors{' ' + ', '.join(bad) if bad else ''}; Prometheus counted "
              f"{_requests_total('async'):,.0f}, ledger {_ledger_calls('async'):,}")


_LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("CREATE TABLE IF NOT EXISTS x (a)")
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""


def _timed_us(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e6


def startup(tmp: Path) -> None:
    """configure() and the first call with a free ledger, a ledger locked by another
    process, and a fleet Prometheus that trickles bytes (after a warm-up that imports
    everything, so the figures are waits, not first imports)."""
    sys.path.insert(0, str(ROOT / "tests" / "reliability"))
    from fault_servers import Server, trickle

    def first_call() -> None:
        with wattmeter.attribute(team="boot"):
            _meter.start_call("openai", "gpt-4o", "chat").finish(
                Usage("openai", "gpt-4o", "chat", input_tokens=10, output_tokens=10))

    def measure(label: str, **options: Any) -> None:
        cfg_us = _timed_us(lambda: wattmeter.configure(
            budgets=[Budget(team="boot", limit="1 MWh", period="day")], **options))
        call_us = _timed_us(first_call)
        next_us = _timed_us(first_call)
        print(f"startup, {label}: configure() {cfg_us:,.0f} us, first call {call_us:,.0f} "
              f"us, second call {next_us:,.0f} us")
        wattmeter.configure(budgets=[], ledger="sqlite", prometheus_url=None)

    wattmeter.configure(budgets=[Budget(team="warm", limit="1 MWh")],
                        ledger_path=str(tmp / "warm.sqlite3"))
    first_call()
    wattmeter.configure(budgets=[])
    measure("free ledger", ledger_path=str(tmp / "free.sqlite3"))
    path = tmp / "locked.sqlite3"
    locker = subprocess.Popen([sys.executable, "-c", _LOCKER, str(path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
    try:
        measure("ledger locked by another process", ledger_path=str(path))
    finally:
        locker.kill()
        locker.wait()
    with Server(trickle(0.05)) as prom:
        measure("fleet Prometheus trickling bytes", ledger="prometheus",
                prometheus_url=prom.url, fleet_timeout_s=0.5,
                ledger_path=str(tmp / "fleet.sqlite3"))
    # a hanging fleet query must not hold up ledger writes
    with Server(trickle(0.05)) as prom:
        wattmeter.configure(budgets=[Budget(team="boot", limit="1 MWh", period="day")],
                            ledger="prometheus", prometheus_url=prom.url, fleet_timeout_s=30,
                            ledger_path=str(tmp / "fleet2.sqlite3"))
        for _ in range(300):
            first_call()
        time.sleep(1.0)
        mgr = current_manager()
        assert mgr is not None
        written = int(sum(r["calls"] for r in mgr.ledger.totals(group_by=("team",))))
        prom.stop.set()
    print(f"fleet query hanging (fleet_timeout_s=30): 1 s later {written} of 300 calls in "
          "the ledger")
    wattmeter.configure(budgets=[], ledger="sqlite", prometheus_url=None)


def _rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def rss(tmp: Path, n: int) -> None:
    wattmeter.configure(budgets=[Budget(team="rss", limit="1000 MWh")],
                        ledger_path=str(tmp / "rss.sqlite3"))
    usage = Usage("openai", "gpt-4o", "chat", input_tokens=1200, output_tokens=400)

    def calls(k: int) -> None:
        with wattmeter.attribute(team="rss"):
            for _ in range(k):
                _meter.start_call("openai", "gpt-4o", "chat").finish(usage)

    calls(10_000)  # warm: caches, ledger file, label children
    before = _rss_mib()
    t0 = time.perf_counter()
    calls(n)
    dt = time.perf_counter() - t0
    after = _rss_mib()
    print(f"memory: RSS {before:.1f} -> {after:.1f} MiB ({after - before:+.1f} MiB) over "
          f"{n:,} metered calls ({dt / n * 1e6:.1f} us per call incl. meter, Prometheus, "
          f"ledger queue); ledger {_ledger_calls('rss'):,} of {n + 10_000:,}")


def forks(tmp: Path, n: int) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, str(FORK_WORKLOAD), str(n),
                          str(tmp / "fork.sqlite3")], env=env, cwd=tmp, text=True,
                         capture_output=True, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"fork: {r['forks']} forks with 4 busy threads: {r['hung_at_call']} children hung "
          f"at their call, {r['hung_at_exit']} at sys.exit(); ledger {r['ledger_calls']:,} "
          f"calls = parent {r['parent_calls']:,} + children {r['ok']}")


_KILLED = """
import sys, wattmeter
from wattmeter import Budget, _meter
from wattmeter._usage import Usage
from wattmeter.budget import current_manager
wattmeter.configure(budgets=[Budget(team="kill", limit="1000 MWh")], ledger_path=sys.argv[1],
                    prometheus=False)
usage = Usage("openai", "gpt-4o", "chat", input_tokens=10, output_tokens=10)
acked = 0
while True:
    with wattmeter.attribute(team="kill"):
        for _ in range(200):
            _meter.start_call("openai", "gpt-4o", "chat").finish(usage)
    current_manager().flush()  # acknowledged once this returns
    acked += 200
    print(acked, flush=True)
"""


def kills(tmp: Path, n: int) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    lost_runs = lost_total = bad_files = 0
    rng = random.Random(12)
    for i in range(n):
        path = tmp / f"kill-{i}.sqlite3"
        proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(path)], env=env,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        acked = 0
        deadline = time.monotonic() + rng.uniform(0.8, 2.0)
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked = int(line)
        os.kill(proc.pid, signal.SIGKILL)
        for line in proc.stdout:  # acknowledged just before the kill
            acked = int(line)
        proc.wait()
        ledger = Ledger(path)
        stored = int(sum(r["calls"] for r in ledger.totals(group_by=("team",))))
        bad_files += not ledger.integrity_ok()
        ledger.close()
        lost = max(0, acked - stored)
        lost_total += lost
        lost_runs += lost > 0
    print(f"SIGKILL: {n} runs killed mid-write: {lost_total} acknowledged records lost "
          f"({lost_runs} runs with a loss); integrity_check failed in {bad_files}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--async-calls", type=int, default=500)
    ap.add_argument("--rss-calls", type=int, default=100_000)
    ap.add_argument("--forks", type=int, default=150)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--parts", default="startup,threads,rss,forks,kills",
                    help="comma-separated subset of startup,threads,rss,forks,kills")
    a = ap.parse_args()
    parts = set(a.parts.split(","))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.chdir(tmp)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, wattmeter "
              f"{wattmeter.__version__}")
        if "startup" in parts:
            startup(tmp)
        if "threads" in parts:
            threads_and_async(tmp, a.threads, a.calls, a.async_calls)
        if "rss" in parts:
            rss(tmp, a.rss_calls)
        if "forks" in parts:
            forks(tmp, a.forks)
        if "kills" in parts:
            kills(tmp, a.kills)


if __name__ == "__main__":
    main()
