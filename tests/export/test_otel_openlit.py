"""Energy and CO2e on OpenLIT's GenAI span, OpenLIT set up before or after wattmeter.

OpenLIT 1.45 needs openai<3 and anthropic<1, older than the main test environment's, so
this module is skipped there and runs in its own pinned environment
(``nox -s openlit``, constraints-openlit.txt). Each case runs in a subprocess
(instrumentors patch process-wide) that refuses every connection but loopback, so OpenLIT
exports nothing and fetches nothing (its pricing table is a local empty file).
Only openai is metered beside OpenLIT: anthropic<1 is below wattmeter's tested floor (2.0;
0.x streams failed the integration tests), so wattmeter leaves it unpatched with a warning.
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

pytest.importorskip("openlit")

_SCRIPT = textwrap.dedent("""
    import json, socket, sys
    # loopback only: a connection or name lookup elsewhere is recorded and refused
    elsewhere = []
    _connect, _getaddrinfo = socket.socket.connect, socket.getaddrinfo
    def connect(sock, address):
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "::1", "localhost"):
            elsewhere.append(str(address[0])); raise OSError("no network in this test")
        return _connect(sock, address)
    def getaddrinfo(host, *args, **kwargs):
        if host not in (None, "127.0.0.1", "::1", "localhost"):
            elsewhere.append(str(host)); raise socket.gaierror("no network in this test")
        return _getaddrinfo(host, *args, **kwargs)
    socket.socket.connect, socket.getaddrinfo = connect, getaddrinfo

    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    import openlit, wattmeter

    url, provider_name, order, pricing = sys.argv[1:5]
    exporter = InMemorySpanExporter()
    provider = TracerProvider()  # OpenLIT reuses an SDK provider it finds: no exporter
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    def theirs():
        openlit.init(disable_metrics=True, disable_events=True, collect_gpu_stats=False,
                     capture_message_content=False, pricing_json=pricing,
                     disabled_instrumentors=["requests", "urllib3", "httpx"])

    is_openai = provider_name == "openai"
""") + CALLS + textwrap.dedent("""
    print(json.dumps({"elsewhere": elsewhere, "spans": [{
        "name": s.name, "id": s.context.span_id, "trace": s.context.trace_id,
        "scope": s.instrumentation_scope.name if s.instrumentation_scope else None,
        "parent": s.parent.span_id if s.parent else None,
        "attrs": {k: v for k, v in (s.attributes or {}).items()
                  if k.startswith(("wattmeter.", "gen_ai.usage."))}}
        for s in exporter.get_finished_spans()]}))
""")


def run(url: str, provider: str, order: str, tmp_path: Path) -> dict[str, Any]:
    pricing = tmp_path / "pricing.json"
    pricing.write_text("{}")
    src = str(Path(wattmeter.__file__).resolve().parents[1])
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WATTMETER_", "OTEL_", "OPENLIT_"))}
    env.update(WATTMETER_STRICT="1", OTEL_TRACES_EXPORTER="none",
               OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none",
               PYTHONPATH=os.pathsep.join([src, env.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", _SCRIPT, url, provider, order, str(pricing)],
                         capture_output=True, text=True, timeout=180, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("order", ["wattmeter-first", "wattmeter-last"])
@pytest.mark.parametrize("provider", ["openai"])
def test_energy_lands_on_openlit_span(simulator: Any, tmp_path: Path, provider: str,
                                      order: str) -> None:
    result = run(simulator.url, provider, order, tmp_path)
    assert result["elsewhere"] == []  # OpenLIT reached nothing but the simulator
    spans = result["spans"]
    metered = [s for s in spans if "wattmeter.energy_wh" in s["attrs"]]
    assert len(metered) == 2, spans  # the plain call and the stream, once each
    for span in metered:
        assert span["scope"] == f"openlit.instrumentation.{provider}", spans  # OpenLIT's
        a = span["attrs"]
        assert a["wattmeter.energy_wh"] > 0 and a["wattmeter.co2e_g"] > 0
        assert a["wattmeter.team"] == "search"
        assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
    assert not [s for s in spans if s["scope"] == "wattmeter"], spans


def test_anthropic_below_the_tested_floor_is_left_to_openlit(simulator: Any,
                                                            tmp_path: Path) -> None:
    """OpenLIT's anthropic<1 is outside wattmeter's range: its spans stay, unmetered."""
    result = run(simulator.url, "anthropic", "wattmeter-first", tmp_path)
    spans = result["spans"]
    assert len([s for s in spans if s["scope"] == "openlit.instrumentation.anthropic"]) == 2
    assert not [s for s in spans if "wattmeter.energy_wh" in s["attrs"]], spans
