"""Shared pieces of the measure tests: a synthetic energy source and served calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import wattmeter
from wattmeter._usage import Usage
from wattmeter.measure import Endpoint, Fallback, Series

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
HOST, PORT = "127.0.0.1", 8000
EP = Endpoint(f"http://{HOST}:{PORT}/v1", gpus={"Hostname": "node-1"}, name="llama")


def served(team: str, input_tokens: int, output_tokens: int, seconds: float,
           host: str = HOST, port: int = PORT) -> None:
    """One call that runs `seconds` on the endpoint at host:port, attributed to `team`."""

    @wattmeter.meter(model=MODEL)
    def generate() -> Usage:
        time.sleep(seconds)
        return Usage("self-hosted", MODEL, "chat", input_tokens=input_tokens,
                     output_tokens=output_tokens, server_address=host, server_port=port)

    with wattmeter.attribute(team=team):
        generate()


class FakeSource:
    """GPUs whose cumulative joules are ``joules(t)``, sampled every `step_s` seconds over
    whatever span is asked for (always ready), with faults to switch on."""

    def __init__(self, joules: Callable[[float], float], gpus: int = 2, step_s: float = 0.05,
                 host: str = "node-1") -> None:
        self.joules = joules
        self.gpus = gpus
        self.step_s = step_s
        self.host = host
        self.reset_at: float | None = None  # the counter drops to zero here
        self.gap: tuple[float, float] | None = None  # no samples inside
        self.missing = False
        self.down = False
        self.reads: list[int] = []  # thread idents that read

    def check_clock(self) -> None:
        if self.down:
            raise Fallback("prometheus_down", "Prometheus at http://prom:9090 unreachable")

    def read(self, ep: Endpoint, t0: float, t1: float, lookback_s: float) -> tuple[Any, str]:
        import threading

        self.reads.append(threading.get_ident())
        if self.missing:
            return [], "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
        times, t = [], t0 - lookback_s
        while t <= t1 + self.step_s:
            if self.gap is None or not self.gap[0] < t < self.gap[1]:
                times.append(t)
            t += self.step_s
        out = []
        for g in range(self.gpus):
            js = [self.joules(x) - (self.joules(self.reset_at) if self.reset_at is not None
                                    and x >= self.reset_at else 0.0) for x in times]
            labels = {"Hostname": self.host, "gpu": str(g), "UUID": f"GPU-{self.host}-{g}"}
            out.append(Series(f"{self.host}/GPU-{self.host}-{g}", labels, times, js))
        return out, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
