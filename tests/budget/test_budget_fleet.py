"""Fleet mode against a real Prometheus scraping two worker processes."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest
from budget_helpers import Clock, fp, manager

from wattmeter import Budget, BudgetExceededError, _guard
from wattmeter.budget import FleetSource, escape_label_value
from wattmeter.budget._fleet import FleetError, query_for

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
HOSTILE = 'a"} or vector(1) #\n\\"x'
J_PER_WH = 3600.0

WORKER = """
    import sys
    from prometheus_client import Counter, start_http_server

    energy = Counter("wattmeter_energy_joules", "Energy.", ["team", "provider", "model",
                                                           "operation"])
    server, _ = start_http_server(0, addr="127.0.0.1")
    print(server.server_port, flush=True)
    for line in sys.stdin:
        team, joules = line.rstrip("\\n").split("\\t")
        team = team.encode().decode("unicode_escape")
        energy.labels(team, "openai", "gpt-4o", "chat").inc(float(joules))
        print("ok", flush=True)
"""


class Worker:
    """A process exposing wattmeter's energy counter on /metrics, incremented on request."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(WORKER)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def inc(self, team: str, wh: float) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        escaped = team.encode("unicode_escape").decode()
        self.proc.stdin.write(f"{escaped}\t{wh * J_PER_WH}\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ok"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except FleetError:  # not up yet
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not os.path.exists(PROMETHEUS):
        pytest.skip("no prometheus binary")
    workers = [Worker(), Worker()]
    workers[0].inc("search", 2)  # series born before the first scrape, with a value
    workers[1].inc("search", 3)
    tmp = tmp_path_factory.mktemp("prom")
    targets = ", ".join(f'"127.0.0.1:{w.port}"' for w in workers)
    (tmp / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"scrape_configs:\n  - job_name: wattmeter\n    static_configs:\n"
        f"      - targets: [{targets}]\n")
    port = _free_port()
    prom = subprocess.Popen(
        [PROMETHEUS, f"--config.file={tmp / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    source = FleetSource(url)
    try:
        _wait(lambda: source.query("count(wattmeter_energy_joules_total)", time.time()) == 2,
              20, "Prometheus to scrape both workers")
        workers[1].inc("search", 1)  # an increase of a series Prometheus already has
        workers[0].inc(HOSTILE, 5)  # a hostile team, born mid-window
        _wait(lambda: source.query(
            "count(wattmeter_energy_joules_total) + "
            "sum(count_over_time(wattmeter_energy_joules_total[1m]))", time.time()) >= 3 + 12,
              20, "Prometheus to see the new values")
        time.sleep(1.2)
        yield {"url": url, "workers": workers, "source": source}
    finally:
        prom.terminate()
        prom.wait(10)
        for w in workers:
            w.stop()


def test_escaping_keeps_every_character_inside_the_string() -> None:
    assert escape_label_value(HOSTILE) == 'a\\"} or vector(1) #\\n\\\\\\"x'
    b = Budget(team=HOSTILE, limit_wh=1, period="1h")
    q = query_for(b, 3600)
    assert q.count('team="') == 8 and "\n" not in q


def test_fleet_use_sums_both_processes(fleet: dict[str, Any], tmp_path) -> None:
    budgets = [Budget(team="search", limit_wh=6.2, period="1h", actions=("raise",)),
               Budget(team=HOSTILE, limit_wh=100, period="1h"),
               Budget(team="nobody", limit_wh=1, period="1h")]
    mgr = manager(tmp_path, budgets, Clock(time.time()), ledger="prometheus",
                  prometheus_url=fleet["url"], fleet_ttl_s=0)
    search, hostile, nobody = mgr.status()
    assert all(s.source == "prometheus" and s.verified for s in (search, hostile, nobody))
    # 2 + 3 Wh born before the first scrape, 1 Wh more on a series Prometheus had
    assert search.used == pytest.approx(6.0)
    assert hostile.used == pytest.approx(5.0)  # exactly its own series: no injection
    assert nobody.used == 0.0
    mgr.check("search", {}, "openai", "gpt-4o", "chat")
    mgr.record(fp(team="search", wh=0.5))  # this process, not yet scraped: counted locally
    assert mgr.status()[0].used >= 6.5
    with pytest.raises(BudgetExceededError):
        mgr.check("search", {}, "openai", "gpt-4o", "chat")
    mgr.close()


def test_hostile_team_query_returns_only_that_team(fleet: dict[str, Any]) -> None:
    source: FleetSource = fleet["source"]
    b = Budget(team=HOSTILE, limit_wh=1, period="1h")
    assert source.used(b, time.time() - 3600, time.time()) == pytest.approx(5.0)
    evil = Budget(team='x"} or vector(1) or {team="search', limit_wh=1, period="1h")
    assert source.used(evil, time.time() - 3600, time.time()) == 0.0


def test_unreachable_prometheus_falls_back_to_the_ledger(tmp_path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    budgets = [Budget(team="search", limit_wh=10, period="1h", actions=("raise",))]
    before = _guard.error_counts.get("budget_fleet", 0)
    clock = Clock(time.time())
    mgr = manager(tmp_path, budgets, clock, ledger="prometheus", prometheus_url=url,
                  fleet_ttl_s=0, fleet_timeout_s=0.5)
    mgr.record(fp(team="search", wh=3))
    mgr.sync()
    (s,) = mgr.status()
    assert (s.verified, s.used) == (False, 3.0)  # this host's ledger
    assert _guard.error_counts["budget_fleet"] > before
    mgr.check("search", {}, "openai", "gpt-4o", "chat")  # fail open by default
    mgr.close()
    closed = manager(tmp_path, budgets, clock, ledger="prometheus", prometheus_url=url,
                     fleet_ttl_s=0, fleet_timeout_s=0.5, fail_closed=True)
    with pytest.raises(BudgetExceededError, match="can't be verified"):
        closed.check("search", {}, "openai", "gpt-4o", "chat")
    closed.close()


def test_prometheus_ledger_needs_a_url(tmp_path) -> None:
    with pytest.raises(ValueError, match="needs prometheus_url"):
        manager(tmp_path, [Budget(team="a", limit_wh=1)], Clock(0.0), ledger="prometheus")
