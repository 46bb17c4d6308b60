"""wattmeter's own span is made and ended on the record queue's thread (issue 19), with the
times and parent context of the call; another instrumentation's span still gets the figures
on the caller's thread, before it ends."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import wattmeter
from wattmeter import Usage, _queue
from wattmeter._meter import start_call
from wattmeter.export import semconv as sc
from wattmeter.export._genai_attributes import footprint_attributes


def _exported(spans: InMemorySpanExporter) -> tuple[Any, ...]:
    """The spans exported so far, without flushing the record queue (the fixture's reader
    flushes it)."""
    return tuple(InMemorySpanExporter.get_finished_spans(spans))


@contextmanager
def _queue_held() -> Iterator[None]:
    """Keep the background thread from draining (the lock is reentrant: `flush()` on this
    thread still drains)."""
    with _queue._lock:
        yield


def _usage(model: str = "gpt-4o") -> Usage:
    u = Usage("openai", model, input_tokens=12, output_tokens=7, response_model=model + "-x")
    u.response_id, u.finish_reasons = "chatcmpl-1", ["stop"]
    u.server_address, u.server_port = "api.openai.com", 443
    return u


@pytest.mark.parametrize("mode", ["auto", "create"])
def test_own_span_ends_in_the_background_at_the_call_s_times(
        spans: InMemorySpanExporter, mode: str) -> None:
    wattmeter.configure(spans=mode)
    with _queue_held():
        before = time.time_ns()
        call = start_call("openai", "gpt-4o", "chat")
        call.finish(_usage())
        after = time.time_ns()
        assert _exported(spans) == ()  # nothing done on the caller's thread
        time.sleep(0.02)
        drained_from = time.time_ns()
        assert wattmeter.flush() == 1
    (span,) = _exported(spans)
    assert span.name == "chat gpt-4o" and span.kind == trace.SpanKind.CLIENT
    assert span.start_time is not None and span.end_time is not None
    assert before <= span.start_time <= span.end_time <= after < drained_from
    assert (span.start_time, span.end_time) == (call.span.start_ns, call.span.end_ns)


def test_own_span_keeps_its_parent_when_made_on_the_background_thread(
        spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("app")
    with tracer.start_as_current_span("handler") as parent:
        call = start_call("openai", "gpt-4o", "chat")
        call.finish(_usage())
    deadline = time.monotonic() + 5.0
    ours: list[Any] = []
    while not ours and time.monotonic() < deadline:
        time.sleep(0.01)  # the queue's own thread, not a flush here
        ours = [s for s in _exported(spans) if s.name == "chat gpt-4o"]
    assert len(ours) == 1 and ours[0].parent is not None
    assert ours[0].parent.span_id == parent.get_span_context().span_id
    assert ours[0].context.trace_id == parent.get_span_context().trace_id


@pytest.mark.parametrize("mode", ["auto", "create"])
def test_own_span_attributes_are_those_of_the_synchronous_path(
        spans: InMemorySpanExporter, mode: str) -> None:
    wattmeter.configure(spans=mode)
    with wattmeter.attribute(team="search", feature="autocomplete"):
        call = start_call("openai", "gpt-4o", "chat")
        call.finish(_usage())
    (span,) = spans.get_finished_spans()
    expected = footprint_attributes(call, call.footprint(), None, False, True)
    assert dict(span.attributes or {}) == {
        k: tuple(v) if isinstance(v, list) else v for k, v in expected.items()}
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == "chatcmpl-1"
    assert span.attributes[sc.ATTR_LABEL_PREFIX + "feature"] == "autocomplete"


def test_failed_call_s_span_is_marked_in_the_background(spans: InMemorySpanExporter) -> None:
    with _queue_held():
        call = start_call("openai", "gpt-4o", "chat")
        call.finish(None, error=TimeoutError("secret prompt"))
        assert _exported(spans) == ()
    (span,) = spans.get_finished_spans()
    assert span.status.status_code == trace.StatusCode.ERROR
    assert (span.attributes or {})[sc.ERROR_TYPE] == "TimeoutError"
    assert "secret" not in str(span.attributes)


def test_finishing_twice_makes_one_span_ending_at_the_first(
        spans: InMemorySpanExporter) -> None:
    call = start_call("openai", "gpt-4o", "chat")
    call.finish(_usage())  # a stream's exhaustion...
    first = call.span.end_ns
    time.sleep(0.005)
    call.finish(None)  # ...then its close(): idempotent
    (span,) = spans.get_finished_spans()
    assert span.end_time == first


def test_an_outer_genai_span_has_the_figures_before_it_ends(
        spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("other.genai.instrumentation")
    with _queue_held(), tracer.start_as_current_span(
            "chat gpt-4o", attributes={sc.GEN_AI_SYSTEM: "openai"}) as outer:
        start_call("openai", "gpt-4o", "chat").finish(_usage())
        a = outer.attributes or {}  # still open, nothing drained
        assert a[sc.ATTR_ENERGY_WH] > 0 and a[sc.ATTR_CO2E_G] > 0
        assert a[sc.GEN_AI_RESPONSE_ID] == "chatcmpl-1"  # what it lacked is filled in


def test_an_inner_span_still_open_has_the_figures_before_it_ends(
        spans: InMemorySpanExporter) -> None:
    tracer = trace.get_tracer("inner.instrumentation")
    with _queue_held():
        call = start_call("openai", "gpt-4o", "chat").enter()
        inner = tracer.start_span("openai.chat", attributes={sc.GEN_AI_SYSTEM: "openai"})
        call.exit()  # a stream: the inner instrumentation ends its span later
        call.finish(_usage())
        assert (inner.attributes or {})[sc.ATTR_ENERGY_WH] > 0
        inner.end()  # its own end() again
        (span,) = _exported(spans)
    assert span.name == "openai.chat"


def test_a_flush_inside_a_pending_call_does_not_hand_it_a_finished_call_s_span(
        spans: InMemorySpanExporter) -> None:
    done = start_call("openai", "gpt-4o", "chat")
    with _queue_held():
        done.finish(_usage("gpt-4o"))
        pending = start_call("openai", "gpt-4o-mini", "chat").enter()
        wattmeter.flush()  # makes the finished call's span while `pending` is current
        pending.exit()
        pending.finish(_usage("gpt-4o-mini"))
    names = sorted(s.name for s in spans.get_finished_spans())
    assert names == ["chat gpt-4o", "chat gpt-4o-mini"]


def test_uninstrumenting_an_explicit_provider_ends_queued_spans_through_it() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from wattmeter.instrumentation import WattmeterInstrumentor

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = WattmeterInstrumentor()
    instrumentor.instrument(tracer_provider=provider, libraries=[])
    try:
        with _queue_held():
            start_call("openai", "gpt-4o", "chat").finish(_usage())
            assert exporter.get_finished_spans() == ()
    finally:
        instrumentor.uninstrument()
    assert [s.name for s in exporter.get_finished_spans()] == ["chat gpt-4o"]


def test_spans_queued_at_exit_end_before_a_later_provider_shuts_down() -> None:
    # The provider is made after wattmeter's first record, so its shutdown was registered
    # after our exit drain; noticing it puts the drain first again.
    code = textwrap.dedent("""
        import wattmeter
        from wattmeter import Usage, _queue
        from wattmeter._meter import record, start_call
        _queue.INTERVAL_S = 60.0  # the background thread stays asleep: exit drains
        record(Usage("openai", "gpt-4o", input_tokens=1))
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter)
        class Printing(InMemorySpanExporter):
            def export(self, spans):
                print("exported", [s.name for s in spans], flush=True)
                return super().export(spans)
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(Printing()))
        trace.set_tracer_provider(provider)
        start_call("openai", "gpt-4o", "chat").finish(Usage("openai", "gpt-4o",
                                                            input_tokens=1))
        print("queued", _queue.pending(), flush=True)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env={"WATTMETER_STRICT": "1", "PATH": "",
                                              "PYTHONPATH": os.environ.get("PYTHONPATH", "")})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["queued 2", "exported ['chat gpt-4o']"], out.stdout


def test_sdk_spans_are_told_apart_by_their_keys(spans: InMemorySpanExporter) -> None:
    from wattmeter.export.otel import is_genai_span

    tracer = trace.get_tracer("app")
    http = tracer.start_span("POST /chat", attributes={"http.request.method": "POST"})
    genai = tracer.start_span("llm call", attributes={"llm.request.type": "chat"})
    assert not is_genai_span(http) and is_genai_span(genai)
    http.end()
    genai.end()


def test_a_provider_flush_or_shutdown_ends_the_queued_spans_first() -> None:
    """A serverless handler force-flushes its provider at the end of each invocation, an app
    shuts it down: wattmeter's spans still queued for the background thread are ended first
    (our processor goes ahead of the exporting ones), so a batch processor exports them."""
    code = textwrap.dedent("""
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from wattmeter import Usage, _queue
        from wattmeter._meter import start_call
        exp = InMemorySpanExporter()
        p = TracerProvider()
        p.add_span_processor(BatchSpanProcessor(exp, schedule_delay_millis=600_000))
        trace.set_tracer_provider(p)
        def call(model):
            start_call("openai", model, "chat").finish(Usage("openai", model, input_tokens=5))
        with _queue._lock:  # the background thread takes nothing: the spans stay queued
            call("gpt-4o")
            assert not exp.get_finished_spans()
            p.force_flush()
            flushed = [s.name for s in exp.get_finished_spans()]
            call("gpt-4o-mini")
            p.shutdown()
        print(flushed, sorted(s.name for s in exp.get_finished_spans()))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("WATTMETER_STRICT", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.stdout.strip() == ("['chat gpt-4o'] ['chat gpt-4o', 'chat gpt-4o-mini']"), (
        out.stdout + out.stderr[-2000:])
