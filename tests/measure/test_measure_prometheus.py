"""The real parts: a simulated vLLM node with a DCGM exporter, the real Prometheus
scraping both, wattmeter reading Prometheus, and OpenAI's client making the calls."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import wattmeter
from wattmeter.estimate._calibration import clear
from wattmeter.measure import Attributor, Endpoint, PrometheusSource
from wattmeter.testing.prometheus import PrometheusProcess, available
from wattmeter.testing.simulator.self_hosted import SelfHostedNode

openai = pytest.importorskip("openai")
MODEL = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[SelfHostedNode, PrometheusProcess]]:
    if not available():
        pytest.skip("/usr/bin/prometheus is missing: install the Debian package 'prometheus'")
    node = SelfHostedNode(MODEL).start()
    host = lambda url: url.split("//")[1].split("/")[0]  # noqa: E731
    prom = PrometheusProcess({"vllm": [(host(node.url), "/metrics")],
                              "dcgm": [(host(node.exporter.url), "/metrics")]})
    try:
        prom.start()
        prom.wait_for("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION")
        yield node, prom
    finally:
        prom.stop()
        node.stop()


def run(node: SelfHostedNode, prom: PrometheusProcess, seconds: float,
        during: Any = None) -> tuple[Attributor, list[Any]]:
    """Two teams' load for `seconds`, then wait for every window to close."""
    clear()
    wattmeter.instrument("openai")
    ep = Endpoint(node.url + "/v1", gpus={"Hostname": "sim-node-1"}, name="llama")
    att = Attributor(PrometheusSource(prom.url), [ep], window_s=1.0, settle_s=0.3,
                     max_gap_s=0.8, spans=False).start(poll_s=0.1)
    got: list[Any] = []
    att.receivers.append(lambda fp, prov, call: got.append((fp, prov, call.usage.response_id)))
    client = openai.OpenAI(base_url=node.url + "/v1", api_key="none")
    end = time.time() + seconds

    def work(team: str, size: int) -> None:
        with wattmeter.attribute(team=team):
            while time.time() < end:
                client.chat.completions.create(model=MODEL, max_tokens=size, messages=[
                    {"role": "user", "content": "word " * (size * 3)}])
                time.sleep(0.05)

    threads = [threading.Thread(target=work, args=a) for a in (("search", 40), ("chat", 120))]
    for t in threads:
        t.start()
    if during is not None:
        during()
    for t in threads:
        t.join()
    att.wait()
    att.stop()
    return att, got


def test_measured_figures_from_prometheus_sum_to_the_measurement(
        stack: tuple[SelfHostedNode, PrometheusProcess]) -> None:
    node, prom = stack
    att, got = run(node, prom, 3.0)
    results = list(att.results)
    assert results and all(r.reason is None for r in results), att.fallbacks
    for r in results:
        assert r.attributed_j + r.idle_j == pytest.approx(r.measured_j, rel=1e-9)
    # per-call figures sum to the windows' attributed energy (idle apart) within 2%
    per_call = math.fsum(fp.accelerator_wh * 3600 for fp, _, _ in got)
    assert per_call == pytest.approx(att.totals["attributed_j"], rel=0.02)
    assert {fp.method for fp, _, _ in got} == {"measured"}
    # what Prometheus measured is what the simulated GPUs drew (2 GPUs)
    t0, t1 = results[0].start, results[-1].end
    truth = node.power.gpus * (node.power.energy_j(t1) - node.power.energy_j(t0))
    assert att.totals["measured_j"] == pytest.approx(truth, rel=0.03)
    # vLLM's own metrics are scraped under their names and labels
    running = prom.query(f'vllm:generation_tokens_total{{model_name="{MODEL}"}}')
    assert running and float(running[0]["value"][1]) > 0


def test_a_counter_reset_and_a_scrape_gap_fall_back_with_their_reasons(
        stack: tuple[SelfHostedNode, PrometheusProcess]) -> None:
    node, prom = stack

    def faults() -> None:
        time.sleep(1.2)
        node.power.reset()  # the GPUs' counters restart from zero
        time.sleep(1.5)
        node.exporter.down = True  # no scrape succeeds for 1.5 s
        time.sleep(1.5)
        node.exporter.down = False

    att, got = run(node, prom, 5.5, during=faults)
    reasons = {r.reason for r in att.results}
    assert {"counter_reset", "scrape_gap"} <= reasons, list(att.results)
    assert att.fallbacks["counter_reset"] >= 1 and att.fallbacks["scrape_gap"] >= 1
    assert None in reasons  # the windows between the faults are measured
    for fp, _, _ in got:
        assert fp.method == "measured" and fp.accelerator_wh >= 0
