"""Energy and CO2e on the GenAI span next to real GenAI instrumentations, in either order.

OpenLLMetry (traceloop's ``opentelemetry-instrumentation-openai`` / ``-anthropic``),
logfire, and the spans the anthropic 2.x SDK makes itself, each set up before or after
``wattmeter.instrument()``; a plain and a streamed call each. Runs in a subprocess per
case: instrumentors patch process-wide and the global tracer provider is set once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from instrumented_calls import CALLS

import wattmeter

_SCRIPT = textwrap.dedent("""
    import json, sys
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    import wattmeter

    url, setup, order = sys.argv[1:4]
    exporter = InMemorySpanExporter()
    if setup.startswith("logfire"):
        import logfire
        logfire.configure(send_to_logfire=False, console=False, inspect_arguments=False,
                          additional_span_processors=[SimpleSpanProcessor(exporter)])
    else:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)

    def theirs():
        if setup == "openllmetry-openai":
            from opentelemetry.instrumentation.openai import OpenAIInstrumentor
            OpenAIInstrumentor().instrument()
        elif setup == "openllmetry-anthropic":
            from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
            AnthropicInstrumentor().instrument()
        elif setup == "logfire-openai":
            logfire.instrument_openai()
        elif setup == "logfire-anthropic":
            logfire.instrument_anthropic()

    is_openai = setup.endswith("openai")
""") + CALLS + textwrap.dedent("""
    print(json.dumps([{
        "name": s.name, "id": s.context.span_id, "trace": s.context.trace_id,
        "parent": s.parent.span_id if s.parent else None,
        "attrs": {k: v for k, v in (s.attributes or {}).items()
                  if k.startswith(("wattmeter.", "gen_ai.usage."))}}
        for s in exporter.get_finished_spans()]))
""")

CASES = [
    ("openllmetry-openai", "openai.chat", "opentelemetry.instrumentation.openai"),
    ("openllmetry-anthropic", "anthropic.chat", "opentelemetry.instrumentation.anthropic"),
    ("logfire-openai", "Chat Completion with {request_data[model]!r}", "logfire"),
    ("logfire-anthropic", "Message with {request_data[model]!r}", "logfire"),
    ("anthropic-sdk", "anthropic.messages.create", "anthropic"),
]


def run(url: str, setup: str, order: str) -> list[dict[str, Any]]:
    src = str(Path(wattmeter.__file__).resolve().parents[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTMETER_")}
    env.update(WATTMETER_STRICT="1", TRACELOOP_TRACE_CONTENT="false",
               PYTHONPATH=os.pathsep.join([src, env.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", _SCRIPT, url, setup, order],
                         capture_output=True, text=True, timeout=180, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("order", ["wattmeter-first", "wattmeter-last"])
@pytest.mark.parametrize(("setup", "name", "module"), CASES)
def test_energy_lands_on_their_span(simulator: Any, setup: str, name: str, module: str,
                                    order: str) -> None:
    pytest.importorskip(module)
    spans = run(simulator.url, setup, order)
    metered = [s for s in spans if "wattmeter.energy_wh" in s["attrs"]]
    assert len(metered) == 2, spans  # the plain call and the stream, once each
    for span in metered:
        # their span (or, for anthropic, the SDK's own span inside it), never one of ours
        assert span["name"] in (name, "anthropic.messages.create"), spans
        a = span["attrs"]
        assert a["wattmeter.energy_wh"] > 0 and a["wattmeter.co2e_g"] > 0
        assert a["wattmeter.team"] == "search"
        assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
    assert not [s for s in spans if s["name"] in ("chat gpt-4o", "chat claude-haiku-4-5")]
