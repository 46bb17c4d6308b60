"""Measured energy for a self-hosted model: GPU energy counters attributed to the calls
and teams that used them, and later estimates calibrated by the measurement.

A simulated vLLM node (OpenAI-compatible API, vLLM ``/metrics``) and its DCGM exporter
(energy counters integrating a power model driven by the load) run on loopback. When
``/usr/bin/prometheus`` is installed, a real Prometheus scrapes both and wattmeter reads
it, as in production; without it, wattmeter scrapes the exporter itself through the same
reader. Two teams send a mixed load through OpenAI's client; each call is estimated at
once, then, when its window closes, given its measured share. Offline, about 20 s::

    python examples/self_hosted_measured.py
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

import openai

import wattmeter
from wattmeter.measure import Attributor, Endpoint, PrometheusSource, ScrapeSource
from wattmeter.testing import capture
from wattmeter.testing.prometheus import PrometheusProcess, available
from wattmeter.testing.simulator.self_hosted import SelfHostedNode

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
WINDOW_S = 2.0
#: (team, prompt words, max_tokens): search sends short questions, chat long answers.
LOAD = (("search", 40, 24), ("chat", 400, 160))


def send(client: Any, team: str, words: int, tokens: int, until: float) -> None:
    with wattmeter.attribute(team=team):
        while time.time() < until:
            client.chat.completions.create(model=MODEL, max_tokens=tokens, messages=[
                {"role": "user", "content": "lorem " * words}])
            time.sleep(0.05)


def phase(client: Any, seconds: float) -> None:
    until = time.time() + seconds
    threads = [threading.Thread(target=send, args=(client, *load, until)) for load in LOAD]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> None:
    node = SelfHostedNode(MODEL).start()
    prom = None
    try:
        if available():
            host = lambda url: url.split("//")[1].split("/")[0]  # noqa: E731
            prom = PrometheusProcess({"vllm": [(host(node.url), "/metrics")],
                                      "dcgm": [(host(node.exporter.url), "/metrics")]}).start()
            prom.wait_for("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION")
            source: Any = PrometheusSource(prom.url)
            print(f"reading DCGM counters from a real Prometheus at {prom.url} "
                  "(scraping every 250 ms)")
        else:
            source = ScrapeSource(node.exporter.url, interval_s=0.25).start()
            time.sleep(0.5)
            print("Prometheus not installed: scraping the DCGM exporter directly")
        endpoint = Endpoint(node.url + "/v1", gpus={"Hostname": "sim-node-1"}, name="llama-8b")
        att = Attributor(source, [endpoint], window_s=WINDOW_S, settle_s=0.4, max_gap_s=1.0)
        measured: dict[str, float] = defaultdict(float)
        later: dict[str, float] = defaultdict(float)  # measured figures of calibrated calls

        def receive(fp: Any, provisional: Any, call: Any) -> None:
            measured[fp.team] += fp.accelerator_wh
            if provisional.method == "calibrated":
                later[fp.team] += fp.accelerator_wh

        att.receivers.append(receive)
        att.start(poll_s=0.1)
        wattmeter.instrument("openai")
        client = openai.OpenAI(base_url=node.url + "/v1", api_key="not-needed")
        try:
            with capture() as first:  # no calibration yet: estimated
                phase(client, 5.0)
            att.wait()  # every window up to now closed: their measured figures are in
            with capture() as second:  # calibrated by the windows measured so far
                phase(client, 5.0)
            att.wait()
        finally:
            att.stop()
            wattmeter.uninstrument()
    finally:  # also when interrupted while Prometheus starts: no server or files left
        if prom is not None:
            prom.stop()
        node.stop()

    provisional: dict[tuple[str, str], float] = defaultdict(float)
    for fp in [*first, *second]:
        provisional[fp.team, fp.method] += fp.accelerator_wh
    print(f"\nGPU energy per team (Wh, accelerator boundary; windows of {WINDOW_S:g} s). "
          "estimated: the first half's calls\nat call time; calibrated: the second half's, "
          "with the ratio learned meanwhile; measured: all calls.")
    print(f"{'team':<8} {'calls':>5} {'estimated':>10} {'calibrated':>11} {'measured':>9}")
    for team, *_ in LOAD:
        calls = sum(fp.team == team for fp in [*first, *second])
        print(f"{team:<8} {calls:>5} {provisional[team, 'estimated']:>10.4f} "
              f"{provisional[team, 'calibrated']:>11.4f} {measured[team]:>9.4f}")
    idle_wh = att.totals["idle_j"] / 3600
    print(f"{'idle':<8} {'':>5} {'':>10} {'':>11} {idle_wh:>9.4f}  (deployment llama-8b)")
    calibrated = sum(provisional[team, "calibrated"] for team, *_ in LOAD)
    if calibrated:
        print(f"second half: calibrated {calibrated:.4f} Wh at call time, measured "
              f"{sum(later.values()):.4f} Wh when its windows closed")
    fell_back = ", ".join(f"{k}={v}" for k, v in sorted(att.fallbacks.items())) or "none"
    print(f"windows: {len(att.results)}; fallbacks: {fell_back}")
    attributed = sum(measured.values())
    total = att.totals["measured_j"] / 3600
    share = 100 * attributed / total if total else 0.0
    print(f"attributed {attributed:.4f} Wh of {total:.4f} Wh measured ({share:.1f}%)")


if __name__ == "__main__":
    main()
