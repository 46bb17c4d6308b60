"""A self-hosted serving node: an OpenAI-compatible endpoint with vLLM's ``/metrics``, and
a DCGM exporter whose energy counters integrate a power model driven by the load.

Each chat request takes ``ttft + output_tokens x tpot`` seconds (really: the handler
sleeps) and adds a dynamic energy ``gpus x (j_in x input + j_out x output)`` spread evenly
over its run; every GPU draws ``idle_w`` always and ``active_w`` more while any request
runs. The exporter serves DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION (mJ since boot, counter)
and DCGM_FI_DEV_POWER_USAGE (W) with dcgm-exporter's labels (gpu, UUID, device,
modelName, Hostname). `truth_j(id)` is what the simulator knows a request cost: its
dynamic energy plus the GPUs' idle and active draw during its run, shared equally with the
requests running beside it. The numbers are simulated, not measured on any GPU: the
defaults are round figures of the right order for an 8B model on two 700 W GPUs (prefill
~2 x 8 GFLOP a token at a few hundred TFLOP/s gives a few hundredths of a joule a token;
decode at low concurrency is memory-bound, tenths of a joule a token), chosen, not fitted.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time
import zlib
from typing import Any

from ._server import WORD, Response, SimRequest, Simulator, count_tokens, json_response, text_of

__all__ = ["DcgmExporter", "PowerModel", "SelfHostedNode"]


class PowerModel:
    """The GPUs' energy as a function of time, from the requests that ran."""

    def __init__(self, gpus: int = 2, idle_w: float = 70.0, active_w: float = 180.0,
                 j_in: float = 0.015, j_out: float = 0.35,
                 clock: Any = time.time) -> None:
        self.gpus = gpus
        self.idle_w, self.active_w = idle_w, active_w
        self.j_in, self.j_out = j_in, j_out
        self.clock = clock
        self.boot = clock()
        self.requests: dict[str, tuple[float, float, float]] = {}  # id -> start, end, dyn J
        self._lock = threading.Lock()
        self._offset_j = [0.0] * gpus  # subtracted after a reset

    def add(self, rid: str, start: float, end: float, input_tokens: int,
            output_tokens: int) -> None:
        dyn = self.gpus * (self.j_in * input_tokens + self.j_out * output_tokens)
        with self._lock:
            self.requests[rid] = (start, end, dyn)

    def _busy(self, t: float, spans: list[tuple[float, float]]) -> float:
        total, cur_a, cur_b = 0.0, None, None
        for a, b in sorted((a, min(b, t)) for a, b in spans if a < t):
            if cur_b is None or a > cur_b:
                if cur_b is not None and cur_a is not None:
                    total += cur_b - cur_a
                cur_a, cur_b = a, b
            elif b > cur_b:
                cur_b = b
        if cur_b is not None and cur_a is not None:
            total += cur_b - cur_a
        return total

    def energy_j(self, t: float) -> float:
        """Joules one GPU has drawn since boot at `t` (before any reset offset)."""
        with self._lock:
            reqs = list(self.requests.values())
        busy = self._busy(t, [(s, e) for s, e, _ in reqs])
        dyn = 0.0
        for s, e, d in reqs:
            if t >= e:
                dyn += d
            elif t > s:
                dyn += d * (t - s) / (e - s)
        return self.idle_w * (t - self.boot) + self.active_w * busy + dyn / self.gpus

    def power_w(self, t: float) -> float:
        """One GPU's power draw at `t`."""
        with self._lock:
            running = [(s, e, d) for s, e, d in self.requests.values() if s <= t < e]
        dyn = sum(d / (e - s) for s, e, d in running if e > s) / self.gpus
        return self.idle_w + (self.active_w if running else 0.0) + dyn

    def counter_mj(self, gpu: int, t: float) -> float:
        return max(self.energy_j(t) - self._offset_j[gpu], 0.0) * 1000.0

    def reset(self, gpu: int | None = None) -> None:
        """The counters restart from zero (a GPU or exporter restart)."""
        now = self.clock()
        for g in range(self.gpus) if gpu is None else (gpu,):
            self._offset_j[g] = self.energy_j(now)

    def truth_j(self) -> dict[str, float]:
        """Every request's energy: dynamic, plus the node's draw during its run shared
        equally among the requests running at each instant (all GPUs)."""
        with self._lock:
            reqs = dict(self.requests)
        edges = sorted({t for s, e, _ in reqs.values() for t in (s, e)})
        out = {rid: d for rid, (_, _, d) in reqs.items()}
        static_w = (self.idle_w + self.active_w) * self.gpus
        starts = sorted((s, e, rid) for rid, (s, e, _) in reqs.items())
        for a, b in itertools.pairwise(edges):
            hi = bisect.bisect_right(starts, (a, float("inf"), ""))
            running = [rid for s, e, rid in starts[:hi] if e > a]
            if running:
                share = static_w * (b - a) / len(running)
                for rid in running:
                    out[rid] += share
        return out


class DcgmExporter:
    """A dcgm-exporter lookalike over a `PowerModel`, on its own loopback port."""

    def __init__(self, model: PowerModel, hostname: str = "sim-node-1",
                 gpu_model: str = "NVIDIA H100 80GB HBM3") -> None:
        self.model = model
        self.hostname = hostname
        self.gpu_model = gpu_model
        self.energy_counter = True  # False: only the power gauge (older drivers / configs)
        self.down = False  # True: answer 503 (a scrape gap)
        self.sim = Simulator(providers=())
        self.sim.route("GET", "/metrics")(self._metrics)

    def uuid(self, gpu: int) -> str:
        return f"GPU-5ee0{gpu:04d}-{zlib.crc32(self.hostname.encode()):08x}"

    def labels(self, gpu: int) -> str:
        return (f'gpu="{gpu}",UUID="{self.uuid(gpu)}",device="nvidia{gpu}",'
                f'modelName="{self.gpu_model}",Hostname="{self.hostname}"')

    def _metrics(self, req: SimRequest) -> Response:
        if self.down:
            return Response(503, b"exporter restarting", "text/plain")
        now = self.model.clock()
        lines = ["# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).",
                 "# TYPE DCGM_FI_DEV_POWER_USAGE gauge"]
        p = self.model.power_w(now)
        lines += [f"DCGM_FI_DEV_POWER_USAGE{{{self.labels(g)}}} {p:.3f}"
                  for g in range(self.model.gpus)]
        if self.energy_counter:
            lines += ["# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption "
                      "since boot (in mJ).",
                      "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter"]
            lines += [f"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{{self.labels(g)}}} "
                      f"{self.model.counter_mj(g, now):.0f}" for g in range(self.model.gpus)]
        return Response(200, ("\n".join(lines) + "\n").encode(), "text/plain; version=0.0.4")

    @property
    def url(self) -> str:
        return self.sim.url + "/metrics"

    def start(self) -> DcgmExporter:
        self.sim.start()
        return self

    def stop(self) -> None:
        self.sim.stop()


class SelfHostedNode:
    """An OpenAI-compatible server (``url + "/v1"``) with vLLM ``/metrics``, and its DCGM
    exporter (``exporter.url``); a context manager."""

    def __init__(self, model_name: str = "meta-llama/Llama-3.1-8B-Instruct", *,
                 power: PowerModel | None = None, hostname: str = "sim-node-1",
                 ttft_s: float = 0.02, tpot_s: float = 0.004) -> None:
        self.model_name = model_name
        self.power = power or PowerModel()
        self.ttft_s, self.tpot_s = ttft_s, tpot_s
        self.sim = Simulator(providers=())
        self.sim.route("POST", "/v1/chat/completions")(self._chat)
        self.sim.route("GET", "/metrics")(self._vllm_metrics)
        self.exporter = DcgmExporter(self.power, hostname)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.running = 0
        self.prompt_tokens = 0
        self.generation_tokens = 0
        self.finished = 0

    @property
    def url(self) -> str:
        return self.sim.url

    def _chat(self, req: SimRequest) -> Response:
        body = req.json()
        input_tokens = count_tokens(text_of(body.get("messages")))
        output_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
        rid = f"chatcmpl-sim-{next(self._ids)}"
        start = self.power.clock()
        duration = self.ttft_s * (1 + input_tokens / 1000) + self.tpot_s * output_tokens
        self.power.add(rid, start, start + duration, input_tokens, output_tokens)
        with self._lock:
            self.running += 1
        time.sleep(duration)
        with self._lock:
            self.running -= 1
            self.finished += 1
            self.prompt_tokens += input_tokens
            self.generation_tokens += output_tokens
        return json_response({
            "id": rid, "object": "chat.completion", "created": int(start),
            "model": body.get("model") or self.model_name,
            "choices": [{"index": 0, "finish_reason": "length",
                         "message": {"role": "assistant", "content": WORD * output_tokens}}],
            "usage": {"prompt_tokens": input_tokens, "completion_tokens": output_tokens,
                      "total_tokens": input_tokens + output_tokens}})

    def _vllm_metrics(self, req: SimRequest) -> Response:
        """vLLM's names and labels (``vllm:`` prefix; ``model_name`` and, as vLLM's V1
        engine adds, ``engine``), a few of them."""
        m = f'model_name="{self.model_name}",engine="0"'
        with self._lock:
            rows = [
                ("vllm:num_requests_running", "gauge", self.running),
                ("vllm:num_requests_waiting", "gauge", 0),
                ("vllm:prompt_tokens_total", "counter", self.prompt_tokens),
                ("vllm:generation_tokens_total", "counter", self.generation_tokens),
            ]
            finished = self.finished
        lines = []
        for name, kind, value in rows:
            lines += [f"# TYPE {name} {kind}", f"{name}{{{m}}} {value}"]
        lines += ["# TYPE vllm:request_success_total counter",
                  f'vllm:request_success_total{{finished_reason="length",{m}}} {finished}']
        return Response(200, ("\n".join(lines) + "\n").encode(), "text/plain; version=0.0.4")

    def start(self) -> SelfHostedNode:
        self.sim.start()
        self.exporter.start()
        return self

    def stop(self) -> None:
        self.sim.stop()
        self.exporter.stop()

    def __enter__(self) -> SelfHostedNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
