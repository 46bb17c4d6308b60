"""OpenTelemetry: every metered call becomes a GenAI span (or enriches the one another
instrumentation made) carrying its energy, CO2e, range, grid and team.

It installs an SDK ``TracerProvider`` with an in-memory exporter, makes one chat call
inside an application span, and prints the span's ``gen_ai.*`` and ``wattmeter.*``
attributes. Pass ``--console`` to also print every span as JSON with the SDK's console
exporter. Prompt and completion text never go on spans.

Run it with no API key against wattmeter's local provider simulator::

    python examples/opentelemetry_spans.py [--console]

or against a real endpoint::

    WATTMETER_EXAMPLE_BASE_URL=https://api.openai.com/v1 OPENAI_API_KEY=sk-... \
        python examples/opentelemetry_spans.py
"""

from __future__ import annotations

import os
import sys

import openai
from _simulator import base_url
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import wattmeter


def main(argv: list[str] | None = None) -> None:
    """Make one metered call under an application span and print the spans."""
    console = "--console" in (sys.argv[1:] if argv is None else argv)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    if console:
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    tracer = trace.get_tracer("example-app")

    # spans="auto" (the default) enriches a GenAI span made by another instrumentation
    # (OpenLLMetry, logfire, the official ones) or makes one; "create" always makes one.
    wattmeter.configure(spans="auto", grid_zone="DE")
    wattmeter.instrument("openai")
    with base_url() as url:
        client = openai.OpenAI(base_url=url,
                               api_key=os.environ.get("OPENAI_API_KEY", "simulator"))
        with tracer.start_as_current_span("handle-request"), \
                wattmeter.attribute(team="search", feature="rerank"):
            client.chat.completions.create(
                model="gpt-4o", max_tokens=30,
                messages=[{"role": "user", "content": "Rerank these five documents."}],
            )
    provider.force_flush()

    spans = {span.name: span for span in exporter.get_finished_spans()}
    app = spans.pop("handle-request")
    for name, span in spans.items():
        parent = "handle-request" if span.parent and span.parent.span_id == \
            app.context.span_id else "none"
        print(f"span {name!r} (parent: {parent})")
        for key, value in sorted((span.attributes or {}).items()):
            if key.startswith(("gen_ai.", "wattmeter.")):
                print(f"  {key} = {value!r}")
    wattmeter.uninstrument()


if __name__ == "__main__":
    main()
