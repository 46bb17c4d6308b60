"""`WattmeterInstrumentor`: an OpenTelemetry instrumentor with explicit providers, and
loaded by ``opentelemetry-instrument`` through its entry point."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.instrumentation.instrumentor")
pytest.importorskip("openai")

import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import wattmeter
from wattmeter.export import semconv as sc
from wattmeter.instrumentation import WattmeterInstrumentor

MESSAGES = [{"role": "user", "content": "hello"}]
SCHEMA = "https://opentelemetry.io/schemas/1.37.0"


def test_explicit_providers_and_schema_url_are_honoured(simulator: Any) -> None:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()  # not the global one
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    instrumentor = WattmeterInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider,
                            meter_provider=MeterProvider(metric_readers=[reader]),
                            schema_url=SCHEMA, libraries=["openai"])
    try:
        assert instrumentor.is_instrumented_by_opentelemetry
        assert _patched() == ["openai"]
        client = openai.OpenAI(base_url=simulator.url + "/v1", api_key="sk-test",
                               max_retries=0)
        client.chat.completions.create(model="gpt-4o", max_tokens=5, messages=MESSAGES)
    finally:
        instrumentor.uninstrument()
    (span,) = spans.get_finished_spans()
    assert span.name == "chat gpt-4o" and (span.attributes or {})[sc.ATTR_ENERGY_WH] > 0
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.schema_url == SCHEMA
    data = reader.get_metrics_data()
    assert data is not None
    names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics
             for m in sm.metrics}
    assert {sc.OTEL_ENERGY, sc.OTEL_CO2E, sc.OTEL_CALL_ENERGY} <= names
    assert _patched() == []


def _patched() -> list[str]:
    from wattmeter.instrument import instrumented

    return instrumented()


def test_bad_arguments_name_the_field() -> None:
    with pytest.raises(ValueError, match="tracer_provider"):
        WattmeterInstrumentor().instrument(tracer_provider=object())
    WattmeterInstrumentor().uninstrument()
    with pytest.raises(ValueError, match="libraries"):
        WattmeterInstrumentor().instrument(libraries="openai")
    WattmeterInstrumentor().uninstrument()


_APP = textwrap.dedent("""
    import sys
    import openai
    client = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="sk-test", max_retries=0)
    client.chat.completions.create(model="gpt-4o", max_tokens=5,
                                   messages=[{"role": "user", "content": "hello"}])
    list(client.chat.completions.create(model="gpt-4o", max_tokens=5, stream=True,
                                        messages=[{"role": "user", "content": "hello"}]))
""")
_RUN = ("import sys; from opentelemetry.instrumentation.auto_instrumentation import run; "
        "sys.argv[0] = 'opentelemetry-instrument'; run()")


def _entry_point() -> importlib.metadata.EntryPoint | None:
    for ep in importlib.metadata.entry_points(group="opentelemetry_instrumentor"):
        if ep.name == "wattmeter":
            return ep
    return None


def test_opentelemetry_instrument_loads_wattmeter(simulator: Any, tmp_path: Path) -> None:
    """Needs wattmeter installed with this pyproject's entry point (pip install -e .)."""
    pytest.importorskip("opentelemetry.distro")
    ep = _entry_point()
    if ep is None:
        pytest.skip("the installed wattmeter metadata has no opentelemetry_instrumentor "
                    "entry point; reinstall it (pip install -e .)")
    assert ep.value == "wattmeter.instrumentation:WattmeterInstrumentor"
    app = tmp_path / "app.py"
    app.write_text(_APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WATTMETER_", "OTEL_"))}
    src = str(Path(wattmeter.__file__).resolve().parents[1])  # the wattmeter under test
    env.update(WATTMETER_STRICT="1", OTEL_TRACES_EXPORTER="console",
               PYTHONPATH=os.pathsep.join([src, env.get("PYTHONPATH", "")]),
               OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none",
               OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="openai,openai_v2,anthropic,httpx,"
                                                    "requests,urllib,urllib3,logfire")
    out = subprocess.run([sys.executable, "-c", _RUN, sys.executable, str(app), simulator.url],
                         capture_output=True, text=True, timeout=180, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    decoder, spans, text = json.JSONDecoder(), [], out.stdout
    i = text.find("{")
    while i != -1:
        span, end = decoder.raw_decode(text, i)
        spans.append(span)
        i = text.find("{", end)
    metered = [s for s in spans if sc.ATTR_ENERGY_WH in s.get("attributes", {})]
    assert len(metered) == 2, out.stdout[-3000:]  # the plain call and the stream
    for span in metered:
        assert span["name"] == "chat gpt-4o" and span["attributes"][sc.ATTR_ENERGY_WH] > 0
        assert span["attributes"][sc.GEN_AI_USAGE_INPUT_TOKENS] > 0
