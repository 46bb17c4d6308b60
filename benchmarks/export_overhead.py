"""Cost of exporting one finished call: Prometheus `record()`, the span hooks, OTel metrics,
and the budget manager's `check()` before and `record()` after a call.

Run: ``python benchmarks/export_overhead.py``. Prints microseconds per call (best of
several repeats) for each exporter path, on the same prepared `Footprint`, so the figures
can be added to the instrumentation overhead benchmark.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

from opentelemetry import trace
from prometheus_client import CollectorRegistry

import wattmeter
from wattmeter import _config
from wattmeter._meter import Call
from wattmeter.export.otel import SpanHooks
from wattmeter.export.prometheus import exporter

N = 20_000


def best_us(fn: Callable[[], object], n: int = N, repeat: int = 5) -> float:
    return min(timeit.repeat(fn, number=n, repeat=repeat)) / n * 1e6


def main() -> None:
    fp = wattmeter.estimate("gpt-4o", provider="openai", input_tokens=1200, output_tokens=400)
    fp = fp._replace(team="search", cached_input_tokens=200, reasoning_tokens=50)
    cfg = _config.current()
    call = Call("openai", "gpt-4o", "chat", "search", {}, None)
    rows: list[tuple[str, float]] = []

    ex = exporter(cfg, registry=CollectorRegistry())
    rows.append(("prometheus record()", best_us(lambda: ex.record(fp, call))))
    ex_labels = exporter(wattmeter.configure(metric_labels=["feature"]),
                         registry=CollectorRegistry())
    fp_l = fp._replace(labels={"feature": "autocomplete"})
    rows.append(("prometheus record() + 1 metric label",
                 best_us(lambda: ex_labels.record(fp_l, call))))

    class _Sampled:  # a call whose span is sampled: record() keeps its trace id (exemplar)
        span = trace.NonRecordingSpan(trace.SpanContext(
            0x0AF7651916CD43DD8448EB211C80319C, 0x00F067AA0BA902B7, False,
            trace.TraceFlags(trace.TraceFlags.SAMPLED)))

    traced = Call("openai", "gpt-4o", "chat", "search", {}, None)
    traced.span = _Sampled()
    rows.append(("prometheus record() with a trace-id exemplar",
                 best_us(lambda: ex.record(fp, traced))))

    hooks = SpanHooks(wattmeter.configure(spans="auto"))

    def spans_noop() -> None:
        call.span = None
        hooks.start(call)
        hooks.end(call, fp, None)

    rows.append(("span hooks, no OTel SDK (start + end)", best_us(spans_noop)))

    from opentelemetry.sdk.trace import TracerProvider

    trace.set_tracer_provider(TracerProvider())  # recording, no exporter
    rows.append(("span hooks, SDK provider, auto: make span", best_us(spans_noop, n=5_000)))
    tracer = trace.get_tracer("bench")

    def spans_enrich() -> None:
        with tracer.start_as_current_span("chat gpt-4o", attributes={"gen_ai.system": "openai"}):
            call.span = None
            hooks.start(call)
            hooks.end(call, fp, None)

    def other_span_only() -> None:
        with tracer.start_as_current_span("chat gpt-4o", attributes={"gen_ai.system": "openai"}):
            pass

    rows.append(("span hooks, enrich another span (net)",
                 best_us(spans_enrich, n=5_000) - best_us(other_span_only, n=5_000)))

    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    mhooks = SpanHooks(wattmeter.configure(spans="off", otel_metrics=True))
    rows.append(("OTel metrics (2 counters + histogram)",
                 best_us(lambda: mhooks.end(call, fp, None), n=5_000)))

    import tempfile

    from wattmeter.budget import Budget, BudgetManager

    with tempfile.TemporaryDirectory() as tmp:
        mgr = BudgetManager(wattmeter.configure(
            spans="off", otel_metrics=False, ledger_path=f"{tmp}/ledger.sqlite3",
            budgets=[Budget(team="search", limit="5 kWh", period="month", actions=("raise",)),
                     Budget(team="search", limit="20 kgCO2e", period="30d",
                            labels={"feature": "autocomplete"})]), background=False)
        labels = {"feature": "autocomplete"}
        rows.append(("budget check(), team without budgets",
                     best_us(lambda: mgr.check("other", labels, "openai", "gpt-4o", "chat"))))
        rows.append(("budget check(), team with a raise budget",
                     best_us(lambda: mgr.check("search", labels, "openai", "gpt-4o", "chat"))))
        fp_b = fp._replace(labels=labels)
        rows.append(("budget record(), team with two budgets",
                     best_us(lambda: mgr.record(fp_b, call), n=5_000)))
        mgr.ledger.take()  # drop the queued rows: nothing to write
        mgr.close()

    width = max(len(name) for name, _ in rows)
    for name, us in rows:
        print(f"{name:<{width}}  {us:7.2f} µs/call")


if __name__ == "__main__":
    main()
