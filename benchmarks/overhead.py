"""Per-call and per-chunk overhead of wattmeter and its peers on the real openai client.

One run measures, each in its own subprocess (instrumentations patch globally): the bare
client; wattmeter with default configuration (Prometheus metrics on, spans "auto" with no
OpenTelemetry SDK installed); wattmeter with an SDK TracerProvider (spans made), also with
each call inside a web app's recording server span ("in-http-span", that span made on both
sides of the pair); EcoLogits; OpenLLMetry's openai instrumentation with an SDK
TracerProvider and an in- memory exporter; and wattmeter on OpenLLMetry's span (the path
that stays on the caller's thread: another instrumentation's span gets the figures before
it ends), with OpenLLMetry's wrapper outside wattmeter's ("enrich") and inside it
("adopt"), timed against the same stack with wattmeter's patch passing through (the
pass-through itself lands in the baseline). The client talks to an `httpx.MockTransport`
returning a canned chat completion or SSE stream, so only client-side work is timed. Each
mode times its instrumented method paired with the same client's unpatched original
(alternating, thread CPU time, so other processes on a busy machine stay out of the
figures) and reports the median µs per non-streamed call (and the mean of the paired
differences, which counts the calls that pay a garbage collection) and µs per streamed
chunk (the slope between a short and a long stream), and the added µs of each (per chunk:
the slope of the paired differences; for wattmeter also against the client asking for the
same usage chunk itself, since asking for it makes the SDK parse ``"usage": null`` in every
chunk). wattmeter's queue is flushed, untimed, every 20 pairs (`overhead_parts.paired`).
The targets (issue 19) are checked on the in-situ paired figures: wattmeter <= 15 µs per
call and >= 60x below EcoLogits; with a recording span (SDK TracerProvider) <= 30 µs;
<= 0.5 µs per streamed chunk. wattmeter's own work is also timed alone ("isolated": its
wrapper around a stub returning a real parsed ChatCompletion; its stream metered in place,
and the proxy, over real parsed chunks). The background thread's throughput is measured on
one thread: records/s turned into footprints and fed to the default sinks (Prometheus,
and the budget ledger's queue) by `wattmeter.flush()` (target >= 20,000/s). Memory:
tracemalloc and RSS before and after one million metered calls through the core
(`start_call` / `finish` with a `Usage`).

    python benchmarks/overhead.py            # full run, writes benchmarks/results/overhead.json
    python benchmarks/overhead.py --quick    # short run
    python benchmarks/overhead.py --repeat 3 --modes bare,wattmeter,ecologits  # medians
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from overhead_parts import (
    LONG,
    SHORT,
    flush_wattmeter,
    median_of,
    paired,
    run_isolated,
    run_memory,
    run_throughput,
    sdk_tracer,
)

MODES = ("bare", "wattmeter", "wattmeter+otel-sdk", "wattmeter+otel-sdk(in-http-span)",
         "ecologits", "openllmetry",
         "openllmetry+wattmeter(enrich)", "openllmetry+wattmeter(adopt)")
#: wattmeter on another instrumentation's span: its added cost is timed against the same
#: stack with wattmeter's patch switched to pass-through (not against the bare client).
STACKED = {"openllmetry+wattmeter(enrich)": "enrich", "openllmetry+wattmeter(adopt)": "adopt"}
TARGET_CALL_US = 15.0
TARGET_SPAN_US = 30.0
TARGET_CHUNK_US = 0.5
TARGET_RATIO = 60.0
TARGET_RECORDS_S = 20_000.0

_COMPLETION = {
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000,
    "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_bench",
    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                 "message": {"role": "assistant", "content": "Hello! How can I help?",
                             "refusal": None}}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19,
              "prompt_tokens_details": {"cached_tokens": 0},
              "completion_tokens_details": {"reasoning_tokens": 0}},
}


def _sse(chunks: int, include_usage: bool) -> bytes:
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000,
            "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_bench"}
    extra = {"usage": None} if include_usage else {}
    lines = []
    for i in range(chunks):
        delta = {"role": "assistant", "content": ""} if i == 0 else {"content": "tok"}
        finish = "stop" if i == chunks - 1 else None
        lines.append({**base, **extra, "choices": [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})
    if include_usage:
        lines.append({**base, "choices": [], "usage": {
            "prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks}})
    body = "".join(f"data: {json.dumps(x)}\n\n" for x in lines) + "data: [DONE]\n\n"
    return body.encode()


def _client() -> Any:
    import httpx
    import openai

    completion = json.dumps(_COMPLETION).encode()
    streams = {(n, u): _sse(n, u) for n in (SHORT, LONG) for u in (False, True)}

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body.get("stream"):
            n = int(body.get("max_tokens") or SHORT)
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return httpx.Response(200, content=streams[(n, usage)],
                                  headers={"content-type": "text/event-stream"})
        return httpx.Response(200, content=completion,
                              headers={"content-type": "application/json"})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return openai.OpenAI(api_key="sk-bench", base_url="https://api.openai.com/v1",
                         http_client=http, max_retries=0)


def _setup(mode: str) -> Any:
    exporter = None
    if mode == "wattmeter":
        import wattmeter

        wattmeter.instrument("openai")
    elif mode in ("wattmeter+otel-sdk", "wattmeter+otel-sdk(in-http-span)"):
        exporter = sdk_tracer()
        import wattmeter

        wattmeter.instrument("openai")
    elif mode == "ecologits":
        from ecologits import EcoLogits

        EcoLogits.init(providers=["openai"])
    elif mode == "openllmetry":
        exporter = sdk_tracer()
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()
    elif mode in STACKED:
        # enrich: OpenLLMetry's wrapper outside ours, its span current when our call starts;
        # adopt: ours outside, its span made inside our call (its end held for the figures).
        exporter = sdk_tracer()
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        import wattmeter

        if STACKED[mode] == "enrich":
            wattmeter.instrument("openai")
            OpenAIInstrumentor().instrument()
        else:
            OpenAIInstrumentor().instrument()
            wattmeter.instrument("openai")
    return exporter


def run_mode(mode: str, quick: bool) -> dict[str, Any]:
    """Measure one mode in this process: instrumented calls paired with the original method."""
    exporter = _setup(mode)
    client = _client()
    msgs = [{"role": "user", "content": "Hello"}]
    create = client.chat.completions.create
    # The patched method's original (wrapt keeps it); the bare client times itself twice.
    original = create if mode == "bare" else create.__wrapped__
    if mode in STACKED:  # the same stack with wattmeter's patches passing through
        from wattmeter.instrument import _patches

        patches = _patches["openai"]

        def original(*args: Any, **kwargs: Any) -> Any:
            for p in patches:
                p.active = False
            try:
                return create(*args, **kwargs)
            finally:
                for p in patches:
                    p.active = True
    samples = 300 if quick else 2000

    def clear() -> None:
        if exporter is not None:
            exporter.clear()

    def call(fn: Any) -> Any:
        def run() -> None:
            fn(model="gpt-4o-mini", messages=msgs)
            clear()

        if mode != "wattmeter+otel-sdk(in-http-span)":
            return run
        # A web app's server span is current (recording, not a GenAI span): wattmeter's
        # span is its child. The server span is made on both sides of the pair.
        from opentelemetry import trace

        tracer = trace.get_tracer("app")
        http = {"http.request.method": "POST", "url.path": "/chat", "url.scheme": "https",
                "server.address": "gateway", "server.port": 443, "http.route": "/chat",
                "network.protocol.version": "1.1", "client.address": "10.0.0.1",
                "user_agent.original": "bench"}

        def in_span() -> None:
            with tracer.start_as_current_span("POST /chat", kind=trace.SpanKind.SERVER,
                                              attributes=http):
                run()

        return in_span

    def stream(fn: Any, n: int) -> Any:
        def run() -> None:
            for _ in fn(model="gpt-4o-mini", messages=msgs, stream=True, max_tokens=n):
                pass
            clear()

        return run

    means: list[float] = []
    settle = flush_wattmeter if "wattmeter" in mode else None  # see `paired`
    call_us, bare_us, added_call = paired(call(create), call(original), samples, 50, means,
                                          settle)
    def streams(fn: Any, orig: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return (paired(fn(SHORT), orig(SHORT), samples // 2, 10, None, settle),
                paired(fn(LONG), orig(LONG), max(samples // 10, 40), 4, None, settle))

    (s_fn, s_orig, s_added), (l_fn, l_orig, l_added) = streams(
        lambda n: stream(create, n), lambda n: stream(original, n))
    chunk_fn = (l_fn - s_fn) / (LONG - SHORT)
    chunk_orig = (l_orig - s_orig) / (LONG - SHORT)
    # Added per chunk from the paired differences (long minus short stream): the medians
    # of the two sides taken apart differ by ~1.5 µs/chunk when both sides are the bare
    # client (a 37 ms stream's run-to-run spread), the paired differences by far less.
    out = {"mode": mode, "call_us": call_us, "bare_call_us": bare_us,
           "added_call_us": added_call, "added_call_mean_us": means[0],
           "chunk_us": chunk_fn, "bare_chunk_us": chunk_orig,
           "added_chunk_us": (l_added - s_added) / (LONG - SHORT),
           "added_chunk_unpaired_us": chunk_fn - chunk_orig}
    if mode == "wattmeter":
        out["isolated"] = run_isolated(client, samples * 10)
        # wattmeter asks for the usage chunk (stream_options.include_usage), so the server
        # adds ``"usage": null`` to every chunk and the SDK parses it: paired against the
        # client asking the same itself, the rest is wattmeter's own per-chunk work
        asking = {"stream_options": {"include_usage": True}}
        short, long = streams(lambda n: stream(create, n),
                              lambda n: stream(functools.partial(original, **asking), n))
        out["added_chunk_same_wire_us"] = (long[2] - short[2]) / (LONG - SHORT)
    return out


def _child(args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env.pop("WATTMETER_STRICT", None)
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         env=env, check=False)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run")
    parser.add_argument("--repeat", type=int, default=1,
                        help="processes per mode, in turn; figures are their medians (one "
                        "process's in-situ figure moves by about ±4 µs)")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="comma-separated modes to run (default: all)")
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--memory", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--throughput", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--spans", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" /
                                             "overhead.json"))
    args = parser.parse_args()
    child = (run_mode(args.mode, args.quick) if args.mode else run_memory(args.memory)
             if args.memory else run_throughput(args.throughput, args.spans)
             if args.throughput else None)
    if child is not None:  # one measurement, in this subprocess
        print(json.dumps(child))
        return
    flag = ["--quick"] if args.quick else []
    modes = [m for m in args.modes.split(",") if m]
    unknown = sorted(set(modes) - set(MODES))
    if unknown or args.repeat < 1:
        parser.error(f"--modes: unknown {unknown} (known: {', '.join(MODES)})" if unknown
                     else f"--repeat: got {args.repeat}; expected an integer >= 1")
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    for _ in range(args.repeat):  # modes in turn, so a change in the machine's load hits all
        for mode in modes:
            runs[mode].append(_child(["--mode", mode, *flag]))
    rows = {mode: median_of(results) for mode, results in runs.items()}
    print(f"{'mode':<33} {'µs/call':>9} {'added':>9} {'µs/chunk':>9} {'added':>9}   "
          "(added = paired median vs the same client's unpatched method, thread CPU time;")
    print(f"{'':<33} {'':>40}    openllmetry+wattmeter: vs the same stack, wattmeter off)")
    for mode, r in rows.items():
        if "error" in r:
            print(f"{mode:<33} error: {r['error']}")
            continue
        print(f"{mode:<33} {r['call_us']:9.1f} {r['added_call_us']:9.1f} "
              f"{r['chunk_us']:9.2f} {r['added_chunk_us']:9.2f}")
    if args.repeat > 1:
        print(f"added per call (per chunk) in each of the {args.repeat} processes: "
              + "; ".join(f"{mode} " + ", ".join(f"{v:.1f} ({c:+.2f})" for v, c in zip(
                  r.get("added_call_us_runs", ()), r.get("added_chunk_us_runs", ()), strict=False))
                          for mode, r in rows.items()))
    print("mean added per call (with the collections that fall in timed calls; wattmeter's "
          "flushed work and its collections are untimed): "
          + "; ".join(f"{mode} {r['added_call_mean_us']:+.1f} µs" for mode, r in rows.items()
                      if "error" not in r and "added_call_mean_us" in r))
    ours = rows.get("wattmeter", {})
    same = ours.get("added_chunk_same_wire_us")
    if same is not None:
        print(f"wattmeter per chunk against the client asking the same usage chunk itself: "
              f"{same:+.2f} µs (the rest of its figure is the SDK parsing each chunk's "
              "\"usage\": null that the usage chunk brings)")
    iso = ours.get("isolated") if "error" not in ours else None
    if iso:
        print(f"wattmeter alone (stubbed SDK): {iso['call_added_us']:.2f} µs/call, "
              f"{iso['chunk_added_us']:.3f} µs/chunk in place "
              f"({iso['proxy_chunk_added_us']:.3f} through the span path's proxy)")
    tput = _child(["--throughput", str(20_000 if args.quick else 100_000)])
    if "error" not in tput:
        print(f"background thread: {tput['records_per_s']:,.0f} records/s on one thread "
              f"({tput['us_per_record']:.1f} µs per record)")
    else:
        print(f"throughput: error: {tput['error']}")
    tput_spans = _child(["--throughput", str(10_000 if args.quick else 50_000), "--spans"])
    if "error" not in tput_spans:
        print(f"background thread, each record making its span: "
              f"{tput_spans['records_per_s']:,.0f} records/s "
              f"({tput_spans['us_per_record']:.1f} µs per record)")
    else:
        print(f"throughput with spans: error: {tput_spans['error']}")
    memory = _child(["--memory", str(100_000 if args.quick else 1_000_000)])
    if "error" not in memory:
        print(f"memory over {memory['calls']:,} core calls: tracemalloc "
              f"{memory['traced_growth_kb']:+d} KiB (peak {memory['traced_peak_kb']} KiB), "
              f"RSS {memory['rss_growth_kb']:+d} KiB")
    else:
        print(f"memory: error: {memory['error']}")

    def added(mode: str, key: str) -> float | None:
        r = rows.get(mode, {})
        return None if "error" in r or key not in r else float(r[key])

    w_call, s_call = added("wattmeter", "added_call_us"), added("wattmeter+otel-sdk",
                                                                 "added_call_us")
    w_chunk, eco = added("wattmeter", "added_chunk_us"), added("ecologits", "added_call_us")
    ratio = eco / w_call if eco is not None and w_call is not None and w_call > 0 else None
    verdict = {
        "call_target_us": TARGET_CALL_US, "span_target_us": TARGET_SPAN_US,
        "chunk_target_us": TARGET_CHUNK_US, "ratio_target": TARGET_RATIO,
        "records_per_s_target": TARGET_RECORDS_S,
        "call_ok": w_call is not None and w_call <= TARGET_CALL_US,
        "span_ok": s_call is not None and s_call <= TARGET_SPAN_US,
        "chunk_ok": w_chunk is not None and w_chunk <= TARGET_CHUNK_US,
        "chunk_same_wire_us": same,
        "chunk_same_wire_ok": same is not None and same <= TARGET_CHUNK_US,
        "ecologits_ratio": ratio, "ratio_ok": ratio is not None and ratio >= TARGET_RATIO,
        "throughput_ok": "error" not in tput and tput["records_per_s"] >= TARGET_RECORDS_S,
    }
    in_http = added("wattmeter+otel-sdk(in-http-span)", "added_call_us")
    verdict["span_in_http_span_us"] = in_http
    verdict["span_in_http_span_ok"] = in_http is not None and in_http <= TARGET_SPAN_US
    if in_http is not None:
        print(f"wattmeter's own span under a web app's server span: +{in_http:.1f} µs "
              f"(<= {TARGET_SPAN_US:g} µs: {verdict['span_in_http_span_ok']})")
    for mode in STACKED:
        verdict[f"{mode}_added_us"] = added(mode, "added_call_us")
    print("wattmeter on another instrumentation's span (synchronous, no target): " + "; ".join(
        f"{mode.split('(')[1][:-1]} +{verdict[f'{mode}_added_us']:.1f} µs" for mode in STACKED
        if verdict[f"{mode}_added_us"] is not None))
    def said(ok: str, figure: float | None) -> str:  # a mode left out by --modes: not run
        return "not run" if figure is None else str(verdict[ok])

    print(f"targets (in situ, paired): <= {TARGET_CALL_US:g} µs/call: "
          f"{said('call_ok', w_call)}; with span <= {TARGET_SPAN_US:g} µs: "
          f"{said('span_ok', s_call)}; <= {TARGET_CHUNK_US:g} µs/chunk: "
          f"{said('chunk_ok', w_chunk)}; EcoLogits / wattmeter = "
          f"{f'{ratio:.0f}x' if ratio else '-'} (>= {TARGET_RATIO:g}x): "
          f"{said('ratio_ok', ratio)}; "
          f">= {TARGET_RECORDS_S:,.0f} records/s: {verdict['throughput_ok']}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    import platform

    import openai

    out.write_text(json.dumps({
        "quick": args.quick, "python": platform.python_version(), "openai": openai.__version__,
        "machine": platform.machine(), "cpus": os.cpu_count(), "modes": rows,
        "memory": memory, "throughput": tput, "throughput_spans": tput_spans,
        "targets": verdict, "chunks": [SHORT, LONG],
    }, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
