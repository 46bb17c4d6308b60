"""Example workload for the docker-compose stack: metered calls forever, no API key needed.

It starts wattmeter's local provider simulator, points the real OpenAI client at it, and
makes a few calls a second for three teams; Prometheus scrapes the /metrics server that
``WATTMETER_METRICS_PORT`` turns on, and budgets (energy and CO2e) feed the budget gauges.
Each call gets an OpenTelemetry span, so the per-call energy histogram carries trace-id
exemplars (dots on the dashboard's percentile panel).
"""

from __future__ import annotations

import itertools
import random
import time

import openai
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

import wattmeter
from wattmeter.export.prometheus import exporter, set_budget_status
from wattmeter.testing.simulator import Simulator


def main() -> None:
    """Run the workload until stopped."""
    trace.set_tracer_provider(TracerProvider())  # sampled spans: exemplars (no exporter)
    wattmeter.configure(spans="create")
    wattmeter.instrument("openai")
    exporter()  # start /metrics now, before the first call
    with Simulator() as sim:
        client = openai.OpenAI(base_url=sim.url + "/v1", api_key="sim")
        used = {"search": 0.0, "ml": 0.0, "ads": 0.0}
        for i in itertools.count():
            team = ("search", "ml", "ads")[i % 3]
            with wattmeter.attribute(team=team, feature="example"):
                if i % 5 == 0:
                    client.embeddings.create(model="text-embedding-3-small", input="hello")
                else:
                    client.chat.completions.create(
                        model=random.choice(["gpt-4o", "gpt-4o-mini"]),
                        messages=[{"role": "user", "content": "hello " * random.randint(5, 200)}],
                    )
            used[team] += 1.0
            set_budget_status(team, "daily", "joules", 5000.0, used[team] * 10, used[team] * 15)
            if team == "ml":
                set_budget_status(team, "daily-co2e", "grams", 2000.0, used[team] * 2,
                                  used[team] * 3)
            time.sleep(0.5)


if __name__ == "__main__":
    main()
