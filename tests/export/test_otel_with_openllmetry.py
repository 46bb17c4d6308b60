"""One span per call next to a real GenAI instrumentation (OpenLLMetry's OpenAI one).

Runs in a subprocess: the instrumentor patches the openai module process-wide and the
global tracer provider can be set only once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

pytest.importorskip("opentelemetry.instrumentation.openai")

_SCRIPT = textwrap.dedent("""
    import json, sys
    import openai
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor
    import wattmeter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    order = sys.argv[2]
    if order == "wattmeter-first":   # OpenLLMetry's wrapper ends up outside ours
        wattmeter.instrument("openai"); OpenAIInstrumentor().instrument()
    else:                            # ours outside theirs: their span starts inside our call
        OpenAIInstrumentor().instrument(); wattmeter.instrument("openai")
    client = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="sk-test", max_retries=0)
    with wattmeter.attribute(team="search"):
        client.chat.completions.create(model="gpt-4o", max_tokens=5,
                                       messages=[{"role": "user", "content": "hello"}])
    spans = [{"name": s.name, "attrs": {k: v for k, v in (s.attributes or {}).items()
              if k.startswith("wattmeter.")}} for s in exporter.get_finished_spans()]
    print(json.dumps(spans))
""")


def _spans(url: str, order: str) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTMETER_")}
    env.update(WATTMETER_STRICT="1", TRACELOOP_TRACE_CONTENT="false")
    out = subprocess.run([sys.executable, "-c", _SCRIPT, url, order], capture_output=True,
                         text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_their_span_outside_ours_is_enriched(simulator: Any) -> None:
    spans = _spans(simulator.url, "wattmeter-first")
    genai = [s for s in spans if s["name"] in ("openai.chat", "chat gpt-4o")]
    assert len(genai) == 1, spans
    assert genai[0]["name"] == "openai.chat"
    assert genai[0]["attrs"]["wattmeter.team"] == "search"
    assert genai[0]["attrs"]["wattmeter.energy_wh"] > 0


def test_their_span_inside_ours_is_adopted_not_doubled(simulator: Any) -> None:
    spans = _spans(simulator.url, "theirs-first")
    genai = [s for s in spans if s["name"] in ("openai.chat", "chat gpt-4o")]
    assert len(genai) == 1, spans
    assert genai[0]["name"] == "openai.chat"
    assert genai[0]["attrs"]["wattmeter.team"] == "search"
