"""Attribution error per request against the simulator's known truth.

A simulated vLLM node (wattmeter.testing.simulator.self_hosted) serves a mixed load from
several client threads through OpenAI's client; its DCGM exporter's counters integrate a
power model whose per-request truth is known (dynamic energy plus the node's draw during
the request, shared equally with the requests running beside it). wattmeter reads the
counters (from the real Prometheus with ``--source prometheus``, else by scraping the
exporter), attributes each window, and this script compares every request's measured
figure with its truth, and with the plain estimate. It also checks that per-call figures
plus idle sum to each window's measurement.

    python benchmarks/measured_attribution.py                 # scrape, 20 s of load
    python benchmarks/measured_attribution.py --source prometheus --seconds 30

Figures are on the simulator, whose power model is an assumption, not a GPU.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import openai

import wattmeter
from wattmeter.measure import Attributor, Endpoint, PrometheusSource, ScrapeSource
from wattmeter.testing.prometheus import PrometheusProcess, available
from wattmeter.testing.simulator.self_hosted import SelfHostedNode

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
#: (prompt words, max_tokens) a client thread cycles through: chat, RAG, short answers.
SHAPES = ((40, 24), (400, 160), (1200, 40), (100, 300))


def quantile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def run(seconds: float, source_kind: str, clients: int, window_s: float) -> dict[str, Any]:
    node = SelfHostedNode(MODEL).start()
    prom = None
    if source_kind == "prometheus":
        host = lambda url: url.split("//")[1].split("/")[0]  # noqa: E731
        prom = PrometheusProcess({"dcgm": [(host(node.exporter.url), "/metrics")]}).start()
        prom.wait_for("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION")
        source: Any = PrometheusSource(prom.url)
    else:
        source = ScrapeSource(node.exporter.url, interval_s=0.1).start()
        time.sleep(0.3)
    ep = Endpoint(node.url + "/v1", gpus={"Hostname": "sim-node-1"})
    att = Attributor(source, [ep], window_s=window_s, settle_s=0.4, max_gap_s=1.0,
                     calibrate=False, spans=False, ledger=False)
    got: list[tuple[Any, Any, str]] = []
    att.receivers.append(lambda fp, prov, call: got.append((fp, prov, call.usage.response_id)))
    att.start(poll_s=0.1)
    wattmeter.instrument("openai")
    client = openai.OpenAI(base_url=node.url + "/v1", api_key="none")
    until = time.time() + seconds

    def work(i: int) -> None:
        n = i
        while time.time() < until:
            words, tokens = SHAPES[n % len(SHAPES)]
            n += 1
            client.chat.completions.create(model=MODEL, max_tokens=tokens, messages=[
                {"role": "user", "content": "lorem " * words}])
            time.sleep(0.02 * (i + 1))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    att.wait(timeout_s=60)
    att.stop()
    wattmeter.uninstrument()
    truth = node.power.truth_j()
    if prom is not None:
        prom.stop()
    node.stop()

    measured_err = [fp.accelerator_wh * 3600 / truth[rid] for fp, _, rid in got]
    estimate_err = [prov.accelerator_wh * 3600 / truth[rid] for _, prov, rid in got]
    ok = [r for r in att.results if r.reason is None]
    closure = max((abs(r.attributed_j + r.idle_j - r.measured_j) / r.measured_j
                   for r in ok if r.measured_j), default=0.0)
    per_call = math.fsum(fp.accelerator_wh * 3600 for fp, _, _ in got)
    return {
        "source": source_kind, "seconds": seconds, "clients": clients, "window_s": window_s,
        "requests": len(got), "windows": len(att.results), "fallbacks": att.fallbacks,
        "measured_j": att.totals["measured_j"], "attributed_j": att.totals["attributed_j"],
        "idle_j": att.totals["idle_j"], "per_call_sum_j": per_call,
        "window_closure_max_rel": closure,
        "sum_vs_attributed_rel": abs(per_call / att.totals["attributed_j"] - 1)
        if att.totals["attributed_j"] else None,
        "measured_over_truth": {"p5": quantile(measured_err, 0.05),
                                "median": statistics.median(measured_err),
                                "p95": quantile(measured_err, 0.95),
                                "median_abs_error": statistics.median(
                                    abs(x - 1) for x in measured_err)},
        "estimate_over_truth": {"p5": quantile(estimate_err, 0.05),
                                "median": statistics.median(estimate_err),
                                "p95": quantile(estimate_err, 0.95)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--source", choices=("scrape", "prometheus"), default="scrape")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--window", type=float, default=2.0)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if args.source == "prometheus" and not available():
        sys.exit("--source prometheus: /usr/bin/prometheus is not installed")
    r = run(args.seconds, args.source, args.clients, args.window)
    m, e = r["measured_over_truth"], r["estimate_over_truth"]
    print(f"source={r['source']} load={r['seconds']:g}s clients={r['clients']} "
          f"window={r['window_s']:g}s requests={r['requests']} windows={r['windows']} "
          f"fallbacks={r['fallbacks'] or 'none'}")
    print(f"measured {r['measured_j']:.0f} J = attributed {r['attributed_j']:.0f} J + idle "
          f"{r['idle_j']:.0f} J; worst window closure {r['window_closure_max_rel']:.1e}; "
          f"per-call sum vs attributed {r['sum_vs_attributed_rel']:.2%}")
    print(f"measured/truth per request: p5 {m['p5']:.3f}  median {m['median']:.3f}  "
          f"p95 {m['p95']:.3f}  (median |error| {m['median_abs_error']:.1%})")
    print(f"estimate/truth per request: p5 {e['p5']:.4f}  median {e['median']:.4f}  "
          f"p95 {e['p95']:.4f}")
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
