"""OpenTelemetry spans: create, auto (enrich outer / adopt inner / make one), enrich, errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import wattmeter
from wattmeter import Usage
from wattmeter._footprint import Footprint
from wattmeter._meter import start_call
from wattmeter.export import semconv as sc
from wattmeter.export.otel import is_genai_span


def metered(usage: Usage) -> Footprint | None:
    """One metered call, as a provider wrapper makes it: span hooks at its start and end.

    (`_meter.record` meters a call that already happened, with no span around it.) Its
    footprint, once the record queue (which ends wattmeter's own span) is flushed.
    """
    call = start_call(usage.provider, usage.model, usage.operation)
    call.finish(usage)
    wattmeter.flush()
    return call.footprint() if call.parent is None else None


def test_create_makes_one_genai_client_span(spans: InMemorySpanExporter) -> None:
    wattmeter.configure(spans="create")
    with wattmeter.attribute(team="search", feature="autocomplete"):
        fp = metered(Usage("openai", "gpt-4o", input_tokens=12, output_tokens=7,
                          response_model="gpt-4o-2024-08-06"))
    assert fp is not None
    (span,) = spans.get_finished_spans()
    assert span.name == "chat gpt-4o" and span.kind == trace.SpanKind.CLIENT
    a = span.attributes or {}
    assert a[sc.GEN_AI_PROVIDER_NAME] == "openai" and a[sc.GEN_AI_OPERATION_NAME] == "chat"
    assert a[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert a[sc.GEN_AI_RESPONSE_MODEL] == "gpt-4o-2024-08-06"
    assert (a[sc.GEN_AI_USAGE_INPUT_TOKENS], a[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (12, 7)
    assert a[sc.ATTR_ENERGY_WH] == pytest.approx(fp.energy_wh)
    assert a[sc.ATTR_ENERGY_WH_LOW] <= a[sc.ATTR_ENERGY_WH] <= a[sc.ATTR_ENERGY_WH_HIGH]
    assert a[sc.ATTR_CO2E_G] == pytest.approx(fp.co2e_g)
    assert a[sc.ATTR_GRID_ZONE] == fp.grid_zone and a[sc.ATTR_PUE] == fp.pue
    assert a[sc.ATTR_GRID_INTENSITY] == fp.grid_gco2e_per_kwh
    assert a[sc.ATTR_TEAM] == "search" and a[sc.ATTR_LABEL_PREFIX + "feature"] == "autocomplete"
    assert a[sc.ATTR_METHOD] == fp.method and sc.ATTR_ACCELERATOR_WH in a
    # serving regime, energy boundary and method version (issue 17)
    assert (a[sc.ATTR_REGIME], a[sc.ATTR_BOUNDARY]) == ("provider", "comprehensive")
    assert a[sc.ATTR_METHOD_VERSION] == fp.method_version != ""


def test_operation_names_follow_semconv(spans: InMemorySpanExporter) -> None:
    wattmeter.configure(spans="create")
    metered(Usage("openai", "text-embedding-3-small", "embeddings", input_tokens=3))
    metered(Usage("openai", "gpt-3.5-turbo-instruct", "completion", input_tokens=3))
    names = sorted(s.name for s in spans.get_finished_spans())
    assert names == ["embeddings text-embedding-3-small", "text_completion gpt-3.5-turbo-instruct"]


def test_auto_makes_its_span_at_the_end_with_the_call_start_time(
        spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("app")
    with tracer.start_as_current_span("handler") as parent:
        call = start_call("anthropic", "claude-sonnet-4", "chat")
        assert spans.get_finished_spans() == ()  # deferred: nothing opened yet
        call.finish(Usage("anthropic", "claude-sonnet-4", input_tokens=5, output_tokens=5))
    ours = [s for s in spans.get_finished_spans() if s.name == "chat claude-sonnet-4"]
    assert len(ours) == 1
    assert ours[0].parent is not None
    assert ours[0].parent.span_id == parent.get_span_context().span_id
    assert ours[0].start_time is not None and ours[0].end_time is not None
    assert ours[0].start_time <= ours[0].end_time


def test_auto_enriches_an_outer_genai_span(spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("other.genai.instrumentation")
    with tracer.start_as_current_span("chat gpt-4o", attributes={sc.GEN_AI_SYSTEM: "openai"}):
        metered(Usage("openai", "gpt-4o", input_tokens=5, output_tokens=5))
    (span,) = spans.get_finished_spans()
    a = span.attributes or {}
    assert a[sc.GEN_AI_SYSTEM] == "openai" and sc.ATTR_ENERGY_WH in a
    assert sc.GEN_AI_PROVIDER_NAME not in a  # the other instrumentation's gen_ai.* are kept


def test_auto_adopts_a_genai_span_made_inside_the_call(spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("inner.instrumentation")
    with wattmeter.attribute(team="ml"):
        call = start_call("openai", "gpt-4o", "chat").enter()
        with tracer.start_as_current_span("openai.chat", attributes={sc.GEN_AI_SYSTEM: "openai"}):
            pass  # the inner wrapper makes its span and closes it before we read the response
        after_ns = time.time_ns()
        call.exit()
        call.finish(Usage("openai", "gpt-4o", input_tokens=5, output_tokens=5))
    (span,) = spans.get_finished_spans()  # one span for one call
    a = span.attributes or {}
    assert span.name == "openai.chat" and a[sc.ATTR_TEAM] == "ml"
    assert a[sc.ATTR_ENERGY_WH] > 0  # its end() was held until the footprint was on it
    assert span.end_time is not None and span.end_time < after_ns  # at the time it asked


def test_an_inner_span_that_ended_unheld_gets_a_footprint_child(
        spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("inner.instrumentation")
    call = start_call("openai", "gpt-4o", "chat").enter()
    inner = tracer.start_span("openai.chat", attributes={sc.GEN_AI_SYSTEM: "openai"})
    vars(inner).pop("end")  # as if it could not be held (a span type without a __dict__)
    inner.end()
    call.exit()
    call.finish(Usage("openai", "gpt-4o", input_tokens=5, output_tokens=5))
    parent, child = sorted(spans.get_finished_spans(), key=lambda s: s.start_time or 0)
    assert parent.name == "openai.chat" and sc.ATTR_ENERGY_WH not in (parent.attributes or {})
    assert child.name == sc.FOOTPRINT_SPAN and child.parent is not None
    assert child.parent.span_id == parent.context.span_id
    assert (child.attributes or {})[sc.ATTR_ENERGY_WH] > 0


def test_enrich_mode_makes_no_span(spans: InMemorySpanExporter) -> None:
    wattmeter.configure(spans="enrich")
    metered(Usage("openai", "gpt-4o", input_tokens=5))
    assert spans.get_finished_spans() == ()


def test_off_mode_makes_no_span(spans: InMemorySpanExporter) -> None:
    wattmeter.configure(spans="off")
    metered(Usage("openai", "gpt-4o", input_tokens=5))
    assert spans.get_finished_spans() == ()


def test_failed_call_sets_error_status(spans: InMemorySpanExporter) -> None:
    wattmeter.configure(spans="create")
    call = start_call("openai", "gpt-4o", "chat")
    call.finish(None, error=TimeoutError("no content here"))
    (span,) = spans.get_finished_spans()
    assert span.status.status_code == trace.StatusCode.ERROR
    assert (span.attributes or {})[sc.ERROR_TYPE] == "TimeoutError"
    assert "no content" not in str(span.attributes) and span.events == ()


def test_is_genai_span_by_name_or_attribute() -> None:
    class S:
        def __init__(self, name: str, attributes: dict[str, str]) -> None:
            self.name, self.attributes = name, attributes

    assert is_genai_span(S("anthropic.chat", {}))
    assert is_genai_span(S("anything", {sc.GEN_AI_REQUEST_MODEL: "m"}))
    assert not is_genai_span(S("GET /v1/users", {"http.method": "GET"}))


def _run(code: str) -> str:
    # this checkout's package, whatever the interpreter's editable install points at
    env = {"WATTMETER_STRICT": "1", "PATH": "", "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_no_sdk_is_a_noop_and_a_provider_installed_later_is_noticed() -> None:
    out = _run("""
        import wattmeter
        from wattmeter import Usage
        from wattmeter._meter import start_call, _span_hooks
        start_call("openai", "gpt-4o", "chat").finish(Usage("openai", "gpt-4o", input_tokens=1))
        assert _span_hooks[0]._tracer is None
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exp = InMemorySpanExporter()
        p = TracerProvider(); p.add_span_processor(SimpleSpanProcessor(exp))
        trace.set_tracer_provider(p)
        start_call("openai", "gpt-4o", "chat").finish(Usage("openai", "gpt-4o", input_tokens=1))
        wattmeter.flush()  # our own span is made on the record queue's thread
        print([s.name for s in exp.get_finished_spans()])
    """)
    assert out.strip() == "['chat gpt-4o']"


def test_otel_metrics_through_the_global_meter_provider() -> None:
    out = _run("""
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        import wattmeter
        from wattmeter import Usage
        from wattmeter.testing import capture
        from wattmeter._meter import record
        wattmeter.configure(otel_metrics=True, spans="off")
        with capture() as fps, wattmeter.attribute(team="t"):
            record(Usage("openai", "gpt-4o", input_tokens=100))
            record(Usage("openai", "gpt-4o", input_tokens=50))
        data = reader.get_metrics_data()
        got = {}
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    for p in m.data.data_points:
                        got[m.name] = (m.unit, getattr(p, "value", None) or p.sum,
                                       p.attributes["wattmeter.team"])
        joules = sum(f.energy_wh for f in fps) * 3600
        assert abs(got["wattmeter.energy"][1] - joules) < 1e-9 * max(joules, 1), got
        assert abs(got["wattmeter.call.energy"][1] - joules) < 1e-9 * max(joules, 1), got
        print(sorted((k, v[0], v[2]) for k, v in got.items()))
    """)
    assert out.strip() == str(sorted([("wattmeter.call.energy", "J", "t"),
                                      ("wattmeter.co2e", "g", "t"),
                                      ("wattmeter.energy", "J", "t")]))


def test_genai_details_on_our_span(spans: InMemorySpanExporter) -> None:
    wattmeter.configure(spans="create")
    metered(Usage("anthropic", "claude-sonnet-4", input_tokens=50, output_tokens=20,
                  cached_input_tokens=30, reasoning_tokens=8, response_id="msg_1",
                  finish_reasons=["end_turn"], provider_name="aws.bedrock",
                  server_address="bedrock-runtime.us-east-1.amazonaws.com", server_port=443))
    (span,) = spans.get_finished_spans()
    a = span.attributes or {}
    assert a[sc.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert a[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 30
    assert a[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 8
    assert a[sc.GEN_AI_RESPONSE_ID] == "msg_1"
    assert tuple(a[sc.GEN_AI_RESPONSE_FINISH_REASONS]) == ("end_turn",)
    assert a[sc.GEN_AI_OUTPUT_TYPE] == "text"
    assert (a[sc.SERVER_ADDRESS], a[sc.SERVER_PORT]) == (
        "bedrock-runtime.us-east-1.amazonaws.com", 443)


@pytest.mark.parametrize(("provider", "name"), [
    ("aws", "aws.bedrock"), ("bedrock", "aws.bedrock"), ("google", "gcp.gen_ai"),
    ("gemini", "gcp.gemini"), ("vertex_ai", "gcp.vertex_ai"), ("mistral", "mistral_ai"),
    ("azure", "azure.ai.openai")])
def test_provider_names_are_the_registry_values(provider: str, name: str) -> None:
    assert sc.PROVIDER_NAMES[provider] == name


def test_openai_and_anthropic_fill_response_details(spans: InMemorySpanExporter,
                                                    simulator: object) -> None:
    import anthropic
    import openai

    wattmeter.configure(spans="create")
    wattmeter.instrument("openai", "anthropic")
    url = simulator.url  # type: ignore[attr-defined]
    oai = openai.OpenAI(base_url=url + "/v1", api_key="sk-test", max_retries=0)
    msgs = [{"role": "user", "content": "hello"}]
    r = oai.chat.completions.create(model="gpt-4o", max_tokens=5, messages=msgs)
    list(oai.chat.completions.create(model="gpt-4o", max_tokens=5, messages=msgs,
                                     stream=True))
    claude = anthropic.Anthropic(base_url=url, api_key="sk-test", max_retries=0)
    m = claude.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=msgs)
    list(claude.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=msgs,
                                stream=True))
    ours = [s.attributes or {} for s in spans.get_finished_spans()
            if s.instrumentation_scope and s.instrumentation_scope.name == "wattmeter"]
    assert len(ours) == 4
    assert ours[0][sc.GEN_AI_RESPONSE_ID] == r.id and ours[2][sc.GEN_AI_RESPONSE_ID] == m.id
    for a in ours:
        assert a[sc.GEN_AI_RESPONSE_ID] and a[sc.GEN_AI_RESPONSE_FINISH_REASONS]
        assert a[sc.GEN_AI_OUTPUT_TYPE] == "text"


def test_response_details_from_the_provider_are_bounded(spans: InMemorySpanExporter) -> None:
    """A broken or hostile server's response id and finish reasons reach the span cleaned
    and bounded, never as megabytes or as a non-text value."""
    wattmeter.configure(spans="create")
    usage = Usage("openai", "gpt-4o", input_tokens=3, output_tokens=2)
    usage.response_id = "x" * 1_000_000
    usage.finish_reasons = ["stop\ud800"] * 100 + [7]  # type: ignore[list-item]
    usage.server_address = 12  # type: ignore[assignment]
    metered(usage)
    (span,) = spans.get_finished_spans()
    attrs = span.attributes or {}
    assert len(str(attrs[sc.GEN_AI_RESPONSE_ID])) <= 200
    reasons = list(attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS])  # type: ignore[arg-type]
    assert len(reasons) == 16 and all(isinstance(r, str) and r.isprintable() for r in reasons)
    assert sc.SERVER_ADDRESS not in attrs
