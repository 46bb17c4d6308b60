"""Measured attribution when its sources misbehave: Prometheus down, slow, garbled, on
another clock; an exporter without the energy counter. The calls never wait and keep
their estimates; the reason is counted; the ledger counts each call once."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fault_servers import Server, trickle

import wattmeter
from wattmeter.budget import current_manager
from wattmeter.measure import Attributor, Endpoint, Fallback, PrometheusSource, ScrapeSource

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "measure"))
from measure_helpers import EP, FakeSource, served


def closed_port() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def answering(data: Any) -> Server:
    body = json.dumps({"status": "success", "data": data}).encode()
    return Server(lambda h: h.send(200, body, {"Content-Type": "application/json"}))


def window_with_calls(source: Any) -> tuple[Attributor, list[Any]]:
    att = Attributor(source, [EP], window_s=5.0, settle_s=0.0, max_gap_s=1.0, spans=False)
    att.attach()
    got: list[Any] = []
    att.receivers.append(lambda fp, prov, call: got.append(fp))
    served("search", 100, 20, 0.01)
    att.step(now=att.closed_until + 5.0)
    att.stop()
    return att, got


def test_prometheus_down_falls_back() -> None:
    att, got = window_with_calls(PrometheusSource(closed_port(), timeout_s=0.5))
    assert got == [] and att.fallbacks == {"prometheus_down": 1}


def test_prometheus_that_never_finishes_answering_is_cut_at_the_deadline() -> None:
    with Server(trickle()) as server:
        att, got = window_with_calls(PrometheusSource(server.url, timeout_s=0.3))
    assert got == [] and att.fallbacks == {"prometheus_down": 1}


def test_prometheus_on_another_clock_is_clock_skew() -> None:
    with answering({"resultType": "scalar", "result": [time.time() + 30, str(time.time() + 30)]}
                   ) as server:
        source = PrometheusSource(server.url, max_skew_s=2.0)
        with pytest.raises(Fallback) as err:
            source.check_clock()
        assert err.value.reason == "clock_skew"
        att, got = window_with_calls(source)
    assert got == [] and att.fallbacks == {"clock_skew": 1}


@pytest.mark.parametrize("value", ["NaN", "-5", "+Inf", "x"])
def test_garbled_samples_are_refused(value: str) -> None:
    now = time.time()
    matrix = {"resultType": "matrix", "result": [{"metric": {"Hostname": "node-1"},
                                                  "values": [[now, value]]}]}
    with answering(matrix) as server:
        source = PrometheusSource(server.url)
        with pytest.raises(Fallback) as err:
            source.read(EP, now - 1, now, 1.0)
    assert err.value.reason == "bad_sample"


def test_an_exporter_without_the_energy_counter_is_measured_from_power() -> None:
    from wattmeter.testing.simulator.self_hosted import SelfHostedNode

    with SelfHostedNode() as node:
        node.exporter.energy_counter = False
        source = ScrapeSource(node.exporter.url, interval_s=0.1).start()
        deadline = time.monotonic() + 10
        while not source._samples and time.monotonic() < deadline:
            time.sleep(0.05)
        ep = Endpoint(node.url + "/v1", gpus={"Hostname": "sim-node-1"})
        att = Attributor(source, [ep], window_s=0.5, settle_s=0.3, max_gap_s=1.0,
                         spans=False).attach()
        served("search", 100, 20, 0.1, *ep.key)  # type: ignore[arg-type]
        deadline = time.monotonic() + 15
        while not att.results and time.monotonic() < deadline:
            att.step()
            time.sleep(0.1)
        att.stop()
    assert att.results and att.results[0].reason is None
    assert att.results[0].measured_j > 0
    assert att.fallbacks.get("power_gauge", 0) >= 1


def test_the_ledger_counts_each_call_once_at_its_measured_figure(tmp_path: Path) -> None:
    wattmeter.configure(ledger_always=True, ledger_path=str(tmp_path / "l.sqlite3"))
    att = Attributor(FakeSource(lambda t: 300.0 * t), [EP], window_s=0.4, settle_s=0.0,
                     max_gap_s=1.0, spans=False).attach()
    measured: list[Any] = []
    att.receivers.append(lambda fp, prov, call: measured.append(fp))
    for team in ("search", "chat", "search"):
        served(team, 300, 60, 0.05)
    att.step(now=time.time() + 2.0)
    att.stop()
    mgr = current_manager()
    assert mgr is not None
    mgr.flush()
    rows = mgr.ledger.totals(group_by=("team",))
    total = math.fsum(r["energy_wh"] for r in rows)
    assert len(measured) == 3
    assert total == pytest.approx(math.fsum(fp.energy_wh for fp in measured))
    assert sum(r["calls"] for r in rows) == 3


def test_a_correction_moves_market_co2e_too_and_keeps_the_bounded_label(
        tmp_path: Path) -> None:
    """The correction row was written in the layout before market-based CO2e (its market
    sums stayed provisional) and under the raw label value, outside the ledger's bound."""
    wattmeter.configure(ledger_always=True, ledger_path=str(tmp_path / "l.sqlite3"),
                        ledger_max_label_values=1)
    mgr = current_manager()
    assert mgr is not None
    base = wattmeter.estimate("gpt-4o", "openai", input_tokens=100, output_tokens=50)
    kept = base._replace(team="t", labels={"user": "kept"})
    pooled = base._replace(team="t", labels={"user": "flood"})
    mgr.record(kept, None)  # takes the one named slot of the day
    mgr.record(pooled, None)  # pooled as __other__
    twice = {n: 2 * getattr(pooled, n) for n in ("energy_wh", "co2e_g", "co2e_market_g",
                                                  "co2e_market_g_low", "co2e_market_g_high")}
    mgr.correct(pooled._replace(**twice), pooled)
    mgr.flush()
    rows = {r["label:user"]: r for r in mgr.ledger.totals(group_by=("label:user",))}
    assert "flood" not in rows
    other = rows["__other__"]
    assert other["co2e_market_g"] == pytest.approx(2 * pooled.co2e_market_g)
    assert other["energy_wh"] == pytest.approx(2 * pooled.energy_wh)


def test_a_correction_goes_to_the_minute_of_its_call(tmp_path: Path) -> None:
    """A call measured after midnight corrects the day it ran (it was booked at the minute
    the window closed, so yesterday's calls moved energy into today's budget)."""
    wattmeter.configure(ledger_always=True, ledger_path=str(tmp_path / "l.sqlite3"))
    mgr = current_manager()
    assert mgr is not None
    base = wattmeter.estimate("gpt-4o", "openai", input_tokens=100, output_tokens=50)
    fp = base._replace(team="t")
    mgr.record(fp, None)
    ended = time.time() - 2 * 86_400.0  # a call of two days ago, measured now
    mgr.correct(fp._replace(energy_wh=3 * fp.energy_wh), fp, ended)
    mgr.correct(fp._replace(energy_wh=2 * fp.energy_wh), fp, float("nan"))  # now
    mgr.flush()
    rows = mgr.ledger.totals(group_by=("team",), since=ended - 60, until=ended + 60)
    assert rows and rows[0]["energy_wh"] == pytest.approx(2 * fp.energy_wh)
    today = mgr.ledger.totals(group_by=("team",), since=time.time() - 3600)
    assert today[0]["energy_wh"] == pytest.approx(2 * fp.energy_wh)
