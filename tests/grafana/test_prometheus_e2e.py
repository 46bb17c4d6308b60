"""End to end on a real Prometheus: every dashboard query evaluates and the totals match.

A workload process meters calls made with the real OpenAI and Anthropic clients against
the simulator; /usr/bin/prometheus scrapes it every second with wattmeter's rules loaded.
Totals use ``increase(...[$__range])``; the test evaluates them at the last scrape with
``$__range`` reaching back to the first scrape (taken after a warm-up round created every
series), so Prometheus' extrapolation adds < 0.1% and the agreement can be held to 1%.
Prometheus runs with ``--enable-feature=exemplar-storage``: the workload's spans' trace ids
must come back from the query_exemplars API. A second test runs ``wattmeter demo`` itself
and checks that every panel query of the dashboard returns data after it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_files import RULES, load, queries, substitute

PROMETHEUS = "/usr/bin/prometheus"
ROUNDS = 4
CALLS_PER_ROUND = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Prom:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, **params: str) -> Any:
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = json.loads(resp.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return self.get("/api/v1/query", **params)["result"]  # type: ignore[no-any-return]

    def wait(self, expr: str, ok: Any, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                result = self.query(expr)
                if ok(result):
                    return result
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {expr}")
            time.sleep(0.2)


def _start_prometheus(tmp_path: Path, target: str) -> tuple[Prom, subprocess.Popen[bytes]]:
    """A real Prometheus scraping `target` every second, wattmeter's rules loaded."""
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({  # JSON is YAML
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [{"job_name": "wattmeter-e2e", "static_configs": [
            {"targets": [target]}]}],
    }))
    port = _free_port()
    prom = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
         "--enable-feature=exemplar-storage"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return Prom(port), prom


def _stop(proc: subprocess.Popen[Any] | None) -> None:
    if proc is None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("WATTMETER_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env["WATTMETER_STRICT"] = "1"
    import wattmeter  # the copy under test, wherever the test runs from

    env["PYTHONPATH"] = str(Path(wattmeter.__file__).resolve().parents[1])
    return env


@pytest.fixture
def stack(simulator: Any, tmp_path: Path) -> Iterator[tuple[Prom, Any, dict[str, Any]]]:
    if not os.path.exists(PROMETHEUS):
        pytest.skip(f"{PROMETHEUS} is missing: install the Debian package 'prometheus'")
    workload = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("e2e_workload.py")), simulator.url,
         str(ROUNDS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env(),
        cwd=tmp_path)
    assert workload.stdin is not None and workload.stdout is not None
    prom: subprocess.Popen[bytes] | None = None
    try:
        hello = json.loads(workload.stdout.readline() or "{}")
        assert "port" in hello, "the workload failed to start"
        client, prom = _start_prometheus(tmp_path, f"127.0.0.1:{hello['port']}")
        yield client, workload, hello
    finally:
        _stop(prom)
        workload.stdin.close()
        try:
            workload.wait(timeout=10)
        except subprocess.TimeoutExpired:
            workload.kill()


def _value(result: list[dict[str, Any]]) -> float:
    return sum(float(r["value"][1]) for r in result)


def _close(got: float, want: float, what: str) -> None:
    assert want > 0, what
    assert abs(got - want) <= 0.01 * want, f"{what}: Prometheus {got} vs footprints {want}"


def _close_or_zero(got: float, want: float, what: str) -> None:
    """Like `_close`, but a sum that is 0 (life-cycle fields not computed yet) must be 0."""
    if want == 0:
        assert got == 0, f"{what}: Prometheus {got} vs footprints 0"
    else:
        _close(got, want, what)


def _panel_results(prom: Prom, at: float, range_: str) -> dict[str, list[list[dict[str, Any]]]]:
    """Every panel query evaluated at `at`; each must return data, none NaN or infinite."""
    results: dict[str, list[list[dict[str, Any]]]] = {}
    empty = []
    for title, expr in queries(load()):
        query = substitute(expr, range_)
        result = prom.query(query, at=at)
        if not result:
            empty.append(f"{title}: {query}")
        for r in result:
            assert r["value"][1] not in ("NaN", "+Inf", "-Inf"), (title, query, r)
        results.setdefault(title, []).append(result)
    assert not empty, f"{len(empty)} panel queries return no data:\n" + "\n".join(empty)
    return results


def test_dashboard_queries_on_a_real_prometheus(stack: tuple[Prom, Any, dict[str, Any]]) -> None:
    prom, workload, hello = stack
    warm_calls = hello["warm_calls"]
    assert warm_calls == CALLS_PER_ROUND
    prom.wait("sum(wattmeter_requests_total)", lambda r: r and _value(r) == warm_calls)
    workload.stdin.write("go\n")
    workload.stdin.flush()
    want = json.loads(workload.stdout.readline())
    assert want["calls"] == ROUNDS * CALLS_PER_ROUND
    prom.wait("sum(wattmeter_requests_total)",
              lambda r: r and _value(r) == warm_calls + want["calls"])

    # the dashboard's time range: from the first scrape to the last one
    samples = prom.query("wattmeter_requests_total[10m]")
    first = min(float(s["values"][0][0]) for s in samples)
    last = max(float(s["values"][-1][0]) for s in samples)
    assert len({float(s["values"][0][0]) for s in samples}) == 1  # all series born together
    range_ = f"{round((last - first) * 1000) + 1}ms"

    results = _panel_results(prom, last, range_)

    wh, g = want["energy_wh"], want["co2e_g"]
    _close(_value(results["Energy"][0]), wh, "Energy (Wh)")
    _close(_value(results["CO2e"][0]), g, "CO2e (g)")
    _close(_value(results["CO2e"][1]), want["co2e_market_g"], "CO2e market-based (g)")
    _close(_value(results["Calls"][0]), want["calls"], "Calls")
    _close(_value(results["Smartphone charges"][0]), wh / 12, "Smartphone charges")
    _close(_value(results["Hours of a microwave oven"][0]), wh / 850, "Microwave hours")
    _close(_value(results["Km by car"][0]), g / 106.6, "Km by car")
    _close(_value(results["Top models by energy"][0]), wh, "Top models by energy")
    assert set(want["co2e_by_team"]) == set(want["energy_by_team"]) == {"search", "ml"}
    assert want["tokens"]["uncached_input"] > 0 and want["tokens"]["output"] > 0
    for team, grams in want["co2e_by_team"].items():
        got = [r for r in results["Top teams by CO2e"][0] if r["metric"]["team"] == team]
        _close(_value(got), grams, f"CO2e of team {team}")
    for team, team_wh in want["energy_by_team"].items():
        got = [r for r in results["Top teams by energy"][0] if r["metric"]["team"] == team]
        _close(_value(got), team_wh, f"energy of team {team}")
    for kind, n in want["tokens"].items():
        got = [r for r in results["Tokens in the period by type"][0]
               if r["metric"]["type"] == kind]
        if n:
            _close(_value(got), n, f"{kind} tokens")
    used = {r["metric"]["team"]: float(r["value"][1]) for r in results["Budget used"][0]}
    assert used == {"search": 0.9, "ml": 1.5}
    # life-cycle counters: the sums of the footprints' values (0 until they are computed)
    _close_or_zero(_value(results["Embodied CO2e"][0]), want["co2e_embodied_g"],
                   "Embodied CO2e (g)")
    _close_or_zero(_value(results["Water"][0]), want["water_ml"] / 1e3, "Water (L)")
    _close_or_zero(_value(results["Abiotic depletion"][0]), want["adpe_kgsbeq"] * 1e3,
                   "ADPe (g Sb eq)")
    _close(_value(results["Life-cycle CO2e"][0]), g + want["co2e_embodied_g"],
           "Life-cycle CO2e (g)")

    # exemplars: the trace ids of the workload's spans, stored by Prometheus
    def stored(_: object) -> bool:
        got = prom.get("/api/v1/query_exemplars", query="wattmeter_call_energy_joules_bucket",
                       start=f"{first - 60:.3f}", end=f"{time.time() + 1:.3f}")
        ids = {e["labels"]["trace_id"] for series in got for e in series["exemplars"]}
        return bool(ids) and ids <= set(want["trace_ids"])

    prom.wait("vector(1)", stored)

    # the dashboard's variables list the workload's values
    teams = prom.get("/api/v1/label/team/values", **{"match[]": "wattmeter_requests_total"})
    assert {"search", "ml"} <= set(teams)

    # the rules loaded, evaluate without error, and the budget alerts are on their way
    def evaluated(_: object) -> bool:
        rules = [r for g in prom.get("/api/v1/rules")["groups"] for r in g["rules"]]
        return bool(rules) and all(r.get("lastEvaluation", "").startswith("20") for r in rules)

    prom.wait("vector(1)", evaluated)
    groups = prom.get("/api/v1/rules")["groups"]
    rules = [r for grp in groups for r in grp["rules"]]
    shipped = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    assert len(rules) == len(shipped) and all(r["health"] == "ok" for r in rules), rules

    def alerts(_: object) -> bool:
        got = {(a["labels"]["alertname"], a["labels"]["team"])
               for a in prom.get("/api/v1/alerts")["alerts"]}
        return {("WattmeterBudgetWarning", "search"), ("WattmeterBudgetExceeded", "ml")} <= got

    prom.wait("vector(1)", alerts)  # pending: their `for` is minutes

    def present(_: object) -> bool:  # metrics are scraped: the absent alert resolves
        return all(a["labels"]["alertname"] != "WattmeterMetricsAbsent"
                   for a in prom.get("/api/v1/alerts")["alerts"])

    prom.wait("vector(1)", present)


def test_every_panel_shows_data_after_wattmeter_demo(tmp_path: Path) -> None:
    """`wattmeter demo` sets up what every panel needs (budgets in Wh and in gCO2e too)."""
    if not os.path.exists(PROMETHEUS):
        pytest.skip(f"{PROMETHEUS} is missing: install the Debian package 'prometheus'")
    port = _free_port()
    prom, prom_proc = _start_prometheus(tmp_path, f"127.0.0.1:{port}")
    demo = subprocess.Popen(
        [sys.executable, "-m", "wattmeter", "demo", "--port", str(port), "--rounds", "4",
         "--duration", "4", "--hold", "120", "--ledger", str(tmp_path / "demo.sqlite3")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(), cwd=tmp_path)
    assert demo.stdout is not None
    try:
        lines = []
        for line in demo.stdout:  # the rounds are done once it holds /metrics open
            lines.append(line)
            if line.startswith("serving /metrics"):
                break
        else:
            pytest.fail("wattmeter demo ended early:\n" + "".join(lines))
        scrapes = prom.wait("wattmeter_requests_total[1m]",
                            lambda r: r and min(len(s["values"]) for s in r) >= 3)
        first = min(float(s["values"][0][0]) for s in scrapes)
        prom.wait("sum(wattmeter_budget_used_ratio)", bool)
        time.sleep(2.5)  # two more scrapes after the last call
        at = time.time()
        _panel_results(prom, at, f"{round(at - first) + 1}s")
    finally:
        _stop(demo)
        _stop(prom_proc)
