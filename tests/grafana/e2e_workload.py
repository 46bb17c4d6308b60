"""The e2e workload, run as its own process: real OpenAI and Anthropic clients against the
simulator, metered by wattmeter, exported on an embedded /metrics server.

Protocol on stdout/stdin (one JSON line each): it prints {"port"} after a warm-up round
that creates every series, waits for "go", runs the measured rounds and prints their
totals and the trace ids of its spans, then serves /metrics until stdin closes.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from typing import Any

import anthropic
import openai
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import wattmeter
from wattmeter.export.prometheus import exporter, metrics_server, set_budget_status
from wattmeter.testing import capture


def one_round(oa: openai.OpenAI, an: anthropic.Anthropic, k: int) -> None:
    with wattmeter.attribute(team="search", feature="autocomplete"):
        oa.chat.completions.create(model="gpt-4o", max_tokens=20 + k,
                                   messages=[{"role": "user", "content": "hello " * (10 + k)}])
        oa.embeddings.create(model="text-embedding-3-small", input="some text " * (5 + k))
    with wattmeter.attribute(team="ml"):
        an.messages.create(model="claude-sonnet-4-5", max_tokens=30 + k,
                           messages=[{"role": "user", "content": "summarise " * (20 + k)}])
        stream = oa.chat.completions.create(model="gpt-4o-mini", max_tokens=15, stream=True,
                                            messages=[{"role": "user", "content": "hi " * k}])
        for _ in stream:
            pass
        try:
            oa.chat.completions.create(model="error-429", messages=[{"role": "user",
                                                                      "content": "x"}])
        except openai.RateLimitError:
            pass


def totals(fps: list[Any]) -> dict[str, Any]:
    by_team: dict[str, float] = defaultdict(float)
    by_team_wh: dict[str, float] = defaultdict(float)
    for fp in fps:
        by_team[fp.team] += fp.co2e_g
        by_team_wh[fp.team] += fp.energy_wh
    return {
        "calls": len(fps),
        "energy_wh": sum(fp.energy_wh for fp in fps),
        "co2e_g": sum(fp.co2e_g for fp in fps),
        "co2e_by_team": by_team,
        "co2e_embodied_g": sum(fp.co2e_embodied_g for fp in fps),
        "co2e_market_g": sum(fp.co2e_market_g for fp in fps),
        "water_ml": sum(fp.water_ml for fp in fps),
        "adpe_kgsbeq": sum(fp.adpe_kgsbeq for fp in fps),
        "energy_by_team": by_team_wh,
        "tokens": {"uncached_input": sum(fp.input_tokens - fp.cached_input_tokens
                                         for fp in fps),
                   "cached_input": sum(fp.cached_input_tokens for fp in fps),
                   "output": sum(fp.output_tokens - fp.reasoning_tokens for fp in fps),
                   "reasoning": sum(fp.reasoning_tokens for fp in fps)},
    }


def main() -> None:
    url, rounds = sys.argv[1], int(sys.argv[2])
    provider = TracerProvider()  # spans, so the histogram carries trace-id exemplars
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.set_tracer_provider(provider)
    wattmeter.configure(metrics_port=0, spans="create")
    wattmeter.instrument("openai", "anthropic")
    exporter()
    oa = openai.OpenAI(base_url=url + "/v1", api_key="sk-test", max_retries=0)
    an = anthropic.Anthropic(base_url=url, api_key="sk-test", max_retries=0)
    with capture() as warm:
        one_round(oa, an, 0)
    set_budget_status("search", "monthly", "joules", 1000.0, 900.0, 1350.0)
    set_budget_status("ml", "daily", "grams", 10.0, 15.0, 30.0)
    server = metrics_server()
    print(json.dumps({"port": server.port, "warm_calls": len(warm)}), flush=True)
    assert sys.stdin.readline().strip() == "go"
    with capture() as fps:
        for k in range(1, rounds + 1):
            one_round(oa, an, k)
    wattmeter.flush()  # wattmeter's own spans end on the record queue's thread
    ids = [f"{s.context.trace_id:032x}" for s in spans.get_finished_spans() if s.context]
    print(json.dumps({**totals(fps), "trace_ids": ids}), flush=True)
    sys.stdin.read()  # serve /metrics until the test closes our stdin


if __name__ == "__main__":
    main()
