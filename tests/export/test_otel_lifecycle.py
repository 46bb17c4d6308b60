"""The life-cycle breakdown on the span: embodied, total CO2e, water, abiotic depletion."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from test_otel_spans import metered

import wattmeter
from wattmeter import Usage
from wattmeter.export import semconv as sc


def test_span_carries_every_lifecycle_field(spans: InMemorySpanExporter) -> None:
    wattmeter.configure(spans="create")
    fp = metered(Usage("mistral", "mistral-large-2407", input_tokens=100, output_tokens=400))
    assert fp is not None
    (span,) = spans.get_finished_spans()
    a = span.attributes or {}
    assert len(sc.LIFECYCLE_ATTRS) == 12
    for field, name in sc.LIFECYCLE_ATTRS.items():
        assert name.startswith("wattmeter.")
        assert a[name] == pytest.approx(getattr(fp, field)), name
        assert a[name] > 0.0, name
    assert a[sc.ATTR_CO2E_TOTAL_G] == pytest.approx(a[sc.ATTR_CO2E_G]
                                                    + a[sc.ATTR_CO2E_EMBODIED_G])
    assert a[sc.ATTR_WATER_ML_LOW] <= a[sc.ATTR_WATER_ML] <= a[sc.ATTR_WATER_ML_HIGH]


def test_lifecycle_names_are_distinct_from_the_rest() -> None:
    others = {v for k, v in vars(sc).items() if k.startswith("ATTR_") and isinstance(v, str)
              and v not in sc.LIFECYCLE_ATTRS.values()}
    assert not others & set(sc.LIFECYCLE_ATTRS.values())
    assert len(set(sc.LIFECYCLE_ATTRS.values())) == 12
