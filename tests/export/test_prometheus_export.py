"""Prometheus exporter: names, units, cached children, bounded labels, budgets, errors."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client import CollectorRegistry

import wattmeter
from wattmeter import Usage, _config
from wattmeter._meter import record
from wattmeter.export import prometheus as prom
from wattmeter.export import semconv as sc
from wattmeter.testing import capture


def value(reg: CollectorRegistry, name: str, **labels: str) -> float:
    got = reg.get_sample_value(name, labels)
    return 0.0 if got is None else got


def total(reg: CollectorRegistry, name: str) -> float:
    return sum(s.value for m in reg.collect() for s in m.samples if s.name == name)


@pytest.fixture
def reg() -> CollectorRegistry:
    return CollectorRegistry()


def test_record_counts_energy_co2e_requests_tokens_and_histogram(reg: CollectorRegistry) -> None:
    ex = prom.exporter(_config.current(), registry=reg)
    wattmeter._meter.add_sink(ex.record)
    try:
        with capture() as fps, wattmeter.attribute(team="search"):
            record(Usage("openai", "gpt-4o", input_tokens=100, output_tokens=50,
                         cached_input_tokens=20, reasoning_tokens=5))
            record(Usage("openai", "gpt-4o", input_tokens=10, output_tokens=5, outcome="error"))
    finally:
        wattmeter._meter.remove_sink(ex.record)
    labels = {"team": "search", "provider": "openai", "model": "gpt-4o", "operation": "chat"}
    joules = sum(fp.energy_wh for fp in fps) * 3600
    assert value(reg, sc.PROM_ENERGY, **labels) == pytest.approx(joules)
    assert value(reg, sc.PROM_CO2E, **labels) == pytest.approx(sum(fp.co2e_g for fp in fps))
    assert value(reg, sc.PROM_REQUESTS, outcome="ok", **labels) == 1
    assert value(reg, sc.PROM_REQUESTS, outcome="error", **labels) == 1
    # disjoint types: uncached + cached = input (110), output + reasoning = output (55)
    assert value(reg, sc.PROM_TOKENS, type="uncached_input", **labels) == 90
    assert value(reg, sc.PROM_TOKENS, type="cached_input", **labels) == 20
    assert value(reg, sc.PROM_TOKENS, type="output", **labels) == 50
    assert value(reg, sc.PROM_TOKENS, type="reasoning", **labels) == 5
    assert total(reg, sc.PROM_TOKENS) == 110 + 55  # each token counted once
    assert value(reg, sc.PROM_CALL_ENERGY + "_count", **labels) == 2
    assert value(reg, sc.PROM_CALL_ENERGY + "_sum", **labels) == pytest.approx(joules)
    assert value(reg, sc.PROM_BUILD_INFO, version=wattmeter.__version__) == 1


def test_buckets_span_embeddings_to_video() -> None:
    assert prom.ENERGY_BUCKETS_J[0] <= 0.01 and prom.ENERGY_BUCKETS_J[-1] >= 1e7
    assert list(prom.ENERGY_BUCKETS_J) == sorted(prom.ENERGY_BUCKETS_J)


def test_same_exporter_per_registry_and_children_cached(reg: CollectorRegistry) -> None:
    ex = prom.exporter(_config.current(), registry=reg)
    assert prom.exporter(wattmeter.configure(max_label_values=5), registry=reg) is ex
    assert ex.bounds.max_values == 5
    fp = wattmeter.estimate("gpt-4o", provider="openai", input_tokens=1)
    ex.record(fp)
    assert ex.calls is not None
    acc = ex.calls._index[(fp.team, "openai", "gpt-4o", "chat", "ok")]
    ex.record(fp)
    assert ex.calls._index[(fp.team, "openai", "gpt-4o", "chat", "ok")] is acc
    from wattmeter.export._call_metrics import _CALLS

    assert acc[_CALLS] == 2


def test_raw_label_cache_can_be_cleared_without_losing_counts(reg: CollectorRegistry) -> None:
    ex = prom.exporter(_config.current(), registry=reg)
    fp = wattmeter.estimate("gpt-4o", provider="openai", input_tokens=1)
    ex.record(fp)
    assert ex.calls is not None
    ex.calls._index.clear()
    ex.record(fp)
    value = reg.get_sample_value("wattmeter_requests_total", {
        "team": fp.team, "provider": "openai", "model": "gpt-4o", "operation": "chat",
        "outcome": "ok"})
    assert value == 2
    count = reg.get_sample_value("wattmeter_call_energy_joules_count", {
        "team": fp.team, "provider": "openai", "model": "gpt-4o", "operation": "chat"})
    assert count == 2


def test_label_values_overflow_past_the_limit(reg: CollectorRegistry) -> None:
    ex = prom.exporter(wattmeter.configure(max_label_values=3), registry=reg)
    fp = wattmeter.estimate("m", provider="p", input_tokens=1)
    for i in range(6):
        ex.record(fp._replace(team=f"team{i}"))
    teams = {s.labels["team"] for m in reg.collect() for s in m.samples
             if s.name == sc.PROM_REQUESTS}
    assert teams == {"team0", "team1", "team2", sc.OVERFLOW}
    assert value(reg, sc.PROM_REQUESTS, team=sc.OVERFLOW, provider="p", model="m",
                 operation="chat", outcome="ok") == 3


def test_metric_labels_exports_bounded_attribution_labels(reg: CollectorRegistry) -> None:
    ex = prom.exporter(wattmeter.configure(metric_labels=["feature"]), registry=reg)
    fp = wattmeter.estimate("m", provider="p", input_tokens=1)
    ex.record(fp._replace(labels={"feature": "autocomplete"}))
    ex.record(fp)
    assert value(reg, sc.PROM_REQUESTS, team=fp.team, provider="p", model="m", operation="chat",
                 outcome="ok", feature="autocomplete") == 1
    assert value(reg, sc.PROM_REQUESTS, team=fp.team, provider="p", model="m", operation="chat",
                 outcome="ok", feature="") == 1
    prom.exporter(wattmeter.configure(metric_labels=[]), registry=reg)  # label set changes
    ex.record(fp)
    assert value(reg, sc.PROM_REQUESTS, team=fp.team, provider="p", model="m", operation="chat",
                 outcome="ok") == 1


def test_budget_gauges_one_per_unit(reg: CollectorRegistry) -> None:
    prom.set_budget_status("search", "monthly", "joules", 1000.0, 800.0, 1200.0, registry=reg)
    prom.set_budget_status("ml", "daily", "grams", 10.0, 5.0, 20.0, registry=reg)
    labels = {"team": "search", "budget": "monthly"}
    assert value(reg, sc.PROM_BUDGET_LIMIT + "_joules", **labels) == 1000
    assert value(reg, sc.PROM_BUDGET_USED + "_joules", **labels) == 800
    assert value(reg, sc.PROM_BUDGET_REMAINING + "_joules", **labels) == 200
    assert value(reg, sc.PROM_BUDGET_FORECAST + "_joules", **labels) == 1200
    assert value(reg, sc.PROM_BUDGET_USED_RATIO, **labels) == pytest.approx(0.8)
    assert value(reg, sc.PROM_BUDGET_FORECAST_RATIO, **labels) == pytest.approx(1.2)
    # a sum over a gauge never mixes joules with grams
    assert total(reg, sc.PROM_BUDGET_USED + "_joules") == 800
    assert total(reg, sc.PROM_BUDGET_USED + "_grams") == 5
    assert value(reg, sc.PROM_BUDGET_FORECAST_RATIO, team="ml", budget="daily") == 2
    prom.set_budget_status("search", "monthly", "joules", 1000.0, 1500.0, 2000.0, registry=reg)
    assert value(reg, sc.PROM_BUDGET_REMAINING + "_joules", **labels) == 0


@pytest.mark.parametrize("kwargs, word", [
    ({"unit": "wh"}, "unit"), ({"limit": 0.0}, "limit"), ({"used": -1.0}, "used"),
    ({"forecast": float("nan")}, "forecast"),
])
def test_budget_bad_input_names_the_field(reg: CollectorRegistry, kwargs: dict[str, object],
                                          word: str) -> None:
    args: dict[str, object] = {"team": "t", "budget": "b", "unit": "grams", "limit": 1.0,
                               "used": 0.0, "forecast": 0.0, **kwargs}
    with pytest.raises(ValueError, match=word):
        prom.set_budget_status(registry=reg, **args)  # type: ignore[arg-type]


def test_internal_errors_are_counted(reg: CollectorRegistry) -> None:
    prom.exporter(_config.current(), registry=reg)
    before = value(reg, sc.PROM_ERRORS, where="test_where")
    with pytest.raises(RuntimeError):  # strict mode re-raises inside the test suite
        wattmeter._guard.internal_error("test_where", RuntimeError("boom"))
    assert value(reg, sc.PROM_ERRORS, where="test_where") == before + 1
    prom.count_error("other", registry=reg)
    assert value(reg, sc.PROM_ERRORS, where="other") == 1


def test_metrics_server_on_a_free_loopback_port() -> None:
    wattmeter.configure(metrics_port=0)
    record(Usage("openai", "gpt-4o", input_tokens=3))
    server = prom.metrics_server()
    assert server is not None and server.host == "127.0.0.1" and server.port > 0
    body = urllib.request.urlopen(server.url, timeout=5).read().decode()
    assert sc.PROM_ENERGY in body and sc.PROM_BUILD_INFO in body
    wattmeter.configure(metrics_port=None)
    assert prom.metrics_server() is None


def test_docs_list_every_wire_name() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "integrations.md").read_text()
    names = [v for k, v in vars(sc).items() if k.isupper() and isinstance(v, str)]
    missing = [n for n in names if n.rstrip(".") not in doc]
    assert not missing, f"docs/integrations.md (Telemetry names) does not list {missing}"


def test_busy_metrics_port_warns_once_and_keeps_metering(
        caplog: pytest.LogCaptureFixture) -> None:
    import socket

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        wattmeter.configure(metrics_port=port, budgets=[], ledger_always=False)
        wattmeter.configure(metrics_port=port, default_team="again")
        assert prom.metrics_server() is None
        warnings = [r for r in caplog.records if "cannot serve /metrics" in r.getMessage()]
        assert len(warnings) == 1 and "metrics_port" in warnings[0].getMessage()
        with capture() as fps:
            record(Usage("openai", "gpt-4o", input_tokens=5))
        assert fps and fps[0].team == "again"
    finally:
        busy.close()
