"""Prometheus across worker processes: each worker counts its own calls, and one
``/metrics`` endpoint serves their sum (what gunicorn or uvicorn ``--workers`` need).

With ``PROMETHEUS_MULTIPROC_DIR`` set before ``prometheus_client`` is first imported,
every process writes its metrics to files in that directory; wattmeter's ``/metrics``
server (option ``metrics_port``) then reads and sums every worker's files. Here three
``multiprocessing`` workers make metered OpenAI calls for different teams and the parent
scrapes the sum. (Under gunicorn, also call
``wattmeter.export.prometheus.mark_process_dead(worker.pid)`` from ``child_exit``.)

Run it with no API key against wattmeter's local provider simulator::

    python examples/multiprocess_workers.py

or against a real endpoint::

    WATTMETER_EXAMPLE_BASE_URL=https://api.openai.com/v1 OPENAI_API_KEY=sk-... \
        python examples/multiprocess_workers.py
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import urllib.request

import openai
from _simulator import endpoint

import wattmeter
from wattmeter.testing import capture

WORKERS = (("search", 3), ("ads", 2), ("search", 4))  # (team, calls) for each worker


def worker(base_url: str, provider_hosts: dict[str, str], team: str, calls: int) -> float:
    """One worker process: make `calls` metered calls for `team`; return their joules."""
    wattmeter.configure(provider_hosts=provider_hosts)
    wattmeter.instrument("openai")
    client = openai.OpenAI(base_url=base_url,
                           api_key=os.environ.get("OPENAI_API_KEY", "simulator"))
    with capture() as footprints, wattmeter.attribute(team=team):
        for _ in range(calls):
            client.chat.completions.create(
                model="gpt-4o-mini", max_tokens=20,
                messages=[{"role": "user", "content": "Classify this query."}],
            )
    return sum(fp.energy_wh for fp in footprints) * 3600  # Wh -> J, the metric's unit


def main() -> None:
    """Start the workers, wait for them, then scrape the summed /metrics once."""
    with tempfile.TemporaryDirectory() as mp_dir:
        # Must be set before prometheus_client is imported, in every process; the
        # workers inherit it. Start each deployment with an empty directory.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = mp_dir
        from prometheus_client.parser import text_string_to_metric_families

        from wattmeter.export.prometheus import exporter, metrics_server

        with endpoint() as (base_url, hosts), \
                multiprocessing.Pool(len(WORKERS)) as pool:  # the platform's start method
            joules = pool.starmap(worker, [(base_url, hosts, team, calls)
                                           for team, calls in WORKERS])
        print(f"workers reported {sum(joules):.3f} J in {sum(c for _, c in WORKERS)} calls")

        # The reader: this process makes no calls, it serves every worker's sum.
        wattmeter.configure(metrics_port=0)  # 0: any free port
        exporter()  # start /metrics now (the first metered call would otherwise)
        url = metrics_server().url
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        requests: dict[str, float] = {}
        energy = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "wattmeter_requests_total":
                    team = sample.labels["team"]
                    requests[team] = requests.get(team, 0.0) + sample.value
                elif sample.name == "wattmeter_energy_joules_total":
                    energy += sample.value
        print(f"scraped {url}")
        for team, count in sorted(requests.items()):
            print(f"  wattmeter_requests_total{{team={team!r}}} = {count:g}")
        print(f"  wattmeter_energy_joules_total (all series) = {energy:.3f}")
        print("sum matches the workers:", abs(energy - sum(joules)) <= 1e-6 * max(energy, 1e-9))


if __name__ == "__main__":
    main()
