"""The pieces of `overhead.py` that time wattmeter alone: the paired timer, an SDK tracer
with an in-memory exporter, wattmeter's own work around stubs, the background thread's
throughput and memory over many calls (split out to keep each file short)."""

from __future__ import annotations

import gc
import os
import statistics
import time
from typing import Any

__all__ = ["LONG", "SHORT", "flush_wattmeter", "paired", "run_isolated", "run_memory",
           "run_throughput", "sdk_tracer"]

SHORT, LONG = 10, 410  # chunks in the short and long streams


def sdk_tracer() -> Any:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


def flush_wattmeter() -> None:
    """The background thread's work, done here (`paired`'s `between`)."""
    import wattmeter

    wattmeter.flush()


def paired(fn: Any, orig: Any, samples: int, warmup: int,
           means: list[float] | None = None, between: Any = None) -> tuple[float, float, float]:
    """(median µs of fn, of orig, median of paired differences), in thread CPU time.

    The two are called alternately and timed with the thread's CPU clock, so other
    processes on a busy machine (preemption) do not land in the figures. With `means`, the
    mean of the paired differences is appended to it: the median leaves out the few calls
    that pay a garbage collection, the mean counts them (without `between`, what a busy
    process pays on average; with it, the flushed work's collections are untimed).
    `between`, if given, runs untimed every 20 pairs: ``wattmeter.flush`` does the
    background thread's work there. This loop never waits on I/O, so the thread, starved
    of the GIL, processed one batch in 3 s of calls (measured); the queue would fill past
    1,024 records and the calls would take the long-queue path, which a process that
    waits on the network (and so lets the thread run) doesn't take.
    """
    for _ in range(warmup):
        fn()
        orig()
    if between is not None:
        between()
    clock = time.thread_time_ns
    a, b, d = [], [], []
    gc.collect()
    for i in range(samples):
        if between is not None and i % 20 == 19:
            between()
        first, second = (fn, orig) if i % 2 == 0 else (orig, fn)
        t0 = clock()
        first()
        t1 = clock()
        second()
        t2 = clock()
        x, y = (t1 - t0, t2 - t1) if i % 2 == 0 else (t2 - t1, t1 - t0)
        a.append(x)
        b.append(y)
        d.append(x - y)
    med = statistics.median
    if means is not None:
        means.append(statistics.fmean(d) / 1000)
    return med(a) / 1000, med(b) / 1000, med(d) / 1000


def run_isolated(client: Any, samples: int) -> dict[str, float]:
    """wattmeter's own work, without the SDK's: its wrapper around a stub returning a real
    parsed ChatCompletion; over real parsed ChatCompletionChunks, a stream metered in place
    (the plain path, against the SDK's own stream object over the same chunks: the SDK's
    generator around them is the one wattmeter's replaces) and the stream proxy (the
    path with a span)."""
    import httpx
    import openai
    from openai.types.chat import ChatCompletionChunk

    from wattmeter._meter import start_call
    from wattmeter.instrument._core import wrapper_for
    from wattmeter.instrument._openai_endpoints import Chat
    from wattmeter.instrument._sdk_streams import watch
    from wattmeter.instrument._stream import StreamProxy

    original = client.chat.completions.create.__wrapped__
    msgs = [{"role": "user", "content": "Hello"}]
    response = original(model="gpt-4o-mini", messages=msgs)
    chunks = list(original(model="gpt-4o-mini", messages=msgs, stream=True, max_tokens=LONG,
                           stream_options={"include_usage": True}))
    endpoint = Chat((openai.Stream, openai.AsyncStream), ())
    wrapper = wrapper_for(endpoint, False)
    resource = client.chat.completions
    kwargs = {"model": "gpt-4o-mini", "messages": msgs}

    def stub(*a: Any, **k: Any) -> Any:
        return response

    def wrapped() -> None:
        wrapper(stub, resource, (), kwargs)

    def bare() -> None:
        stub(**kwargs)

    _, _, call_added = paired(wrapped, bare, samples, 500)

    class Chunks:
        def __init__(self) -> None:
            self.it = iter(chunks)

        def __iter__(self) -> Any:
            return self.it

    def proxied() -> None:
        req = endpoint.request(resource, (), {**kwargs, "stream": True})
        proxy = StreamProxy(Chunks(), start_call(req.provider, req.model, "chat"), endpoint,
                            req)
        for _ in proxy:
            pass

    def plain() -> None:
        for _ in Chunks():
            pass

    def proxied_short() -> None:
        req = endpoint.request(resource, (), {**kwargs, "stream": True})
        proxy = StreamProxy(iter(chunks[:1]), start_call(req.provider, req.model, "chat"),
                            endpoint, req)
        for _ in proxy:
            pass

    _, _, long_added = paired(proxied, plain, samples // 20, 50)
    _, _, short_added = paired(proxied_short, lambda: None, samples // 20, 50)
    empty = httpx.Response(200)

    def sdk_stream(items: list[Any]) -> Any:
        stream = openai.Stream(cast_to=ChatCompletionChunk, response=empty, client=client)
        stream._iterator = iter(items)
        return stream

    def in_place(items: list[Any]) -> Any:
        def run() -> None:
            req = endpoint.request(resource, (), {**kwargs, "stream": True})
            req.details = False
            for _ in watch(sdk_stream(items), start_call(req.provider, req.model, "chat"),
                           "openai", req, endpoint.took, endpoint.end_counted, False):
                pass

        return run

    def sdk_only(items: list[Any]) -> Any:
        def run() -> None:
            for _ in sdk_stream(items):
                pass

        return run

    flush = flush_wattmeter
    _, _, w_long = paired(in_place(chunks), sdk_only(chunks), samples // 20, 50, None, flush)
    _, _, w_short = paired(in_place(chunks[:1]), sdk_only(chunks[:1]), samples // 20, 50,
                           None, flush)
    return {"call_added_us": call_added,
            "chunk_added_us": (w_long - w_short) / (len(chunks) - 1),
            "proxy_chunk_added_us": (long_added - short_added) / (len(chunks) - 1)}


def run_throughput(records: int, spans: bool = False) -> dict[str, Any]:
    """Records per second the background work processes on one thread: queued calls turned
    into footprints and fed to the sinks (Prometheus and a budget ledger's queue); with
    `spans`, each also makes, annotates and ends wattmeter's own span through an SDK
    TracerProvider (SimpleSpanProcessor, in-memory exporter)."""
    import tempfile

    import wattmeter
    from wattmeter import _queue
    from wattmeter._meter import start_call
    from wattmeter._usage import Usage

    tmp = tempfile.mkdtemp()
    wattmeter.configure(budgets=[wattmeter.Budget(team="default", limit="1 MWh")],
                        ledger_path=os.path.join(tmp, "l.db"), ledger_flush_s=3600)
    _queue.set_limit(records + 1)
    models = ("gpt-4o-mini", "gpt-4o", "claude-sonnet-4")

    exporter = sdk_tracer() if spans else None

    def queue_and_flush(n: int) -> float:
        # The drain lock is held throughout, so the background thread takes nothing: all
        # `n` records are queued first, then processed here by `flush()` (reentrant).
        with _queue._lock:
            for i in range(n):
                m = models[i % 3]
                start_call("openai", m, "chat").finish(
                    Usage("openai", m, "chat", input_tokens=100 + i % 50, output_tokens=200))
            t0 = time.thread_time()
            done = wattmeter.flush()
            elapsed = time.thread_time() - t0
        if exporter is not None:
            exporter.clear()
        return done / elapsed

    queue_and_flush(2_000)  # warm caches
    rates = [queue_and_flush(records) for _ in range(3)]
    return {"records": records, "records_per_s": statistics.median(rates),
            "us_per_record": 1e6 / statistics.median(rates)}


def run_memory(calls: int) -> dict[str, Any]:
    """tracemalloc and RSS before and after `calls` metered calls through the core."""
    import resource
    import tracemalloc

    from wattmeter._meter import start_call
    from wattmeter._usage import Usage

    def rss_kb() -> int:
        try:
            with open("/proc/self/statm") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except OSError:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def burst(n: int) -> None:
        for i in range(n):
            call = start_call("openai", "gpt-4o-mini", "chat")
            call.finish(Usage("openai", "gpt-4o-mini", "chat", input_tokens=12 + i % 7,
                              output_tokens=30))

    from wattmeter import flush

    burst(10_000)  # warm caches, label children, lazy imports
    flush()
    gc.collect()
    tracemalloc.start()
    rss0, (mem0, _) = rss_kb(), tracemalloc.get_traced_memory()
    t0 = time.perf_counter()
    burst(calls)
    flush()  # the background work is part of the memory bill
    elapsed = time.perf_counter() - t0
    gc.collect()
    mem1, peak = tracemalloc.get_traced_memory()
    rss1 = rss_kb()
    tracemalloc.stop()
    return {"calls": calls, "traced_kb_before": mem0 // 1024, "traced_kb_after": mem1 // 1024,
            "traced_growth_kb": (mem1 - mem0) // 1024, "traced_peak_kb": peak // 1024,
            "rss_kb_before": rss0, "rss_kb_after": rss1, "rss_growth_kb": rss1 - rss0,
            "us_per_call_under_tracemalloc": elapsed / calls * 1e6}


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One mode's figures over several processes: each number the median of its runs (a
    process's in-situ figure moves by about ±4 µs with its memory layout), each nested
    dict likewise; the per-process added µs per call and per chunk kept as ``..._runs``."""
    good = [r for r in runs if "error" not in r]
    if not good:
        return runs[0]
    out: dict[str, Any] = {}
    for key, first in good[0].items():
        values = [r[key] for r in good if key in r]
        if isinstance(first, (int, float)) and not isinstance(first, bool):
            out[key] = statistics.median(values)
        elif isinstance(first, dict):
            out[key] = median_of(values)
        else:
            out[key] = first
    for key in ("added_call_us", "added_chunk_us", "added_chunk_same_wire_us"):
        if key in out:
            out[key + "_runs"] = [r[key] for r in good if key in r]
    return out
