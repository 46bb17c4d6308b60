"""Market-based CO2e on the wire: span attributes beside the location-based ones, and
wattmeter_co2e_market_grams_total with the labels of wattmeter_co2e_grams_total."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

import wattmeter
from wattmeter import Usage, _config
from wattmeter._meter import record, start_call
from wattmeter.export import prometheus as prom
from wattmeter.export import semconv as sc
from wattmeter.export._call_metrics import FileBackedCallMetrics
from wattmeter.export._labels import LabelBounds
from wattmeter.testing import capture


def test_span_carries_market_co2e_beside_location_co2e(spans: InMemorySpanExporter) -> None:
    wattmeter.configure(spans="create")
    call = start_call("google", "gemini-2.5-flash", "chat")
    call.finish(Usage("google", "gemini-2.5-flash", input_tokens=300, output_tokens=200))
    (span,) = spans.get_finished_spans()  # flushes the queue, whose thread ends our span
    fp = call.footprint()
    a = span.attributes or {}
    assert a[sc.ATTR_CO2E_MARKET_G] == pytest.approx(fp.co2e_market_g)
    assert a[sc.ATTR_CO2E_MARKET_G_LOW] <= a[sc.ATTR_CO2E_MARKET_G] <= \
        a[sc.ATTR_CO2E_MARKET_G_HIGH]
    assert a[sc.ATTR_GRID_MARKET_INTENSITY] == fp.grid_market_gco2e_per_kwh
    assert 0 < a[sc.ATTR_CO2E_MARKET_G] < a[sc.ATTR_CO2E_G]  # Google's published factor


def _labels(reg: CollectorRegistry, name: str) -> set[tuple[str, ...]]:
    return {tuple(sorted(s.labels)) for m in reg.collect() for s in m.samples
            if s.name == name}


def test_market_counter_has_the_labels_of_the_location_counter() -> None:
    reg = CollectorRegistry()
    ex = prom.exporter(_config.current(), registry=reg)
    wattmeter._meter.add_sink(ex.record)
    try:
        with capture() as fps, wattmeter.attribute(team="search"):
            record(Usage("mistral", "mistral-large-latest", input_tokens=100, output_tokens=50))
            record(Usage("mistral", "mistral-large-latest", input_tokens=10, output_tokens=5,
                         outcome="error"))
    finally:
        wattmeter._meter.remove_sink(ex.record)
    labels = {"team": "search", "provider": "mistral", "model": fps[0].model,
              "operation": "chat"}
    got = reg.get_sample_value(sc.PROM_CO2E_MARKET, labels)
    assert got == pytest.approx(sum(fp.co2e_market_g for fp in fps)) and got > 0
    assert _labels(reg, sc.PROM_CO2E_MARKET) == _labels(reg, sc.PROM_CO2E)


def test_multiprocess_metrics_count_market_co2e_too() -> None:
    reg = CollectorRegistry()
    metrics = FileBackedCallMetrics(reg, (1.0, 10.0), (), LabelBounds(100))
    fp = wattmeter.estimate("gpt-4o", provider="openai", input_tokens=100, output_tokens=10,
                            zone="DE")
    metrics.record(fp)
    labels = {"team": "default", "provider": "openai", "model": fp.model, "operation": "chat"}
    assert reg.get_sample_value(sc.PROM_CO2E_MARKET, labels) == pytest.approx(fp.co2e_market_g)
