"""The attributor: collects finished calls on measured endpoints and, on its own thread,
closes fixed windows: reads the GPUs' energy, divides it among the calls, calibrates.

On the caller's side it costs two dict operations per call (a start hook and a sink);
everything that waits (Prometheus, scraping, the split) runs on the background thread.
A window closes once the samples reach its end and no call that started inside it is
still running (or `max_wait_s` has passed). A window that can't be measured falls back:
its calls keep their estimate, the reason is counted and logged once.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from .._footprint import Footprint
from .._guard import count_error, internal_error, logger
from .._meter import add_sink, add_start_hook, remove_sink, remove_start_hook
from .._queue import flush as _flush_records
from ..estimate._calibration import RATIOS, scaled
from ._attribute import Share, split
from ._calibrate import MEASURED_SPREAD, Learner
from ._endpoints import Endpoint, endpoints
from ._series import Fallback, NotReady, Series, seconds

__all__ = ["Attributor", "WindowResult"]

Key = tuple[str | None, int | None]
#: Idle seconds a window needs before its idle power is taken as the GPUs' floor.
IDLE_SAMPLE_S = 0.5


class WindowResult(NamedTuple):
    """One closed window of one deployment (endpoints sharing GPUs are one deployment)."""

    endpoint: str
    start: float
    end: float
    measured_j: float
    attributed_j: float
    idle_j: float
    calls: int
    reason: str | None  # None: measured; else why it fell back (calls kept estimates)


class _Pending:
    __slots__ = ("call", "end", "first", "fp", "key", "part_j", "raw_j", "reason", "start")

    def __init__(self, fp: Footprint, call: Any, key: Key, start: float, end: float,
                 raw_j: float) -> None:
        self.fp, self.call, self.key = fp, call, key
        self.start, self.end, self.raw_j = start, end, raw_j
        self.part_j = 0.0
        self.first = 0.0
        self.reason: str | None = None


class Attributor:
    """Measured attribution for `endpoints` from `source` (see docs/measured.md)."""

    def __init__(self, source: Any, eps: Sequence[Endpoint | Any], *, window_s: float = 60.0,
                 settle_s: float | None = None, max_wait_s: float | None = None,
                 max_gap_s: float = 35.0, spread_idle: bool = False, calibrate: bool = True,
                 half_life: float = 8.0, clock: Callable[[], float] = time.time,
                 metrics: Any = None, ledger: bool = True, spans: bool = True,
                 match: Callable[[Any], Key | None] | None = None) -> None:
        self.window_s = seconds("window_s", window_s)
        self.settle_s = seconds("settle_s", settle_s, default=min(self.window_s, 2.0),
                                zero=True)
        self.max_wait_s = seconds("max_wait_s", max_wait_s, default=5 * self.window_s,
                                  hi=7 * 86_400.0)
        self.max_gap_s = seconds("max_gap_s", max_gap_s)
        self.source = source
        self.endpoints = endpoints(eps)
        self._by_key: dict[Key, Endpoint] = {ep.key: ep for ep in self.endpoints}
        self.spread_idle = spread_idle
        self.learner = Learner(half_life) if calibrate else None
        self.clock = clock
        self.metrics = metrics
        self.ledger, self.spans = ledger, spans
        self._match = match  # call -> endpoint key; default: its server address and port
        self.results: deque[WindowResult] = deque(maxlen=10_000)
        self.totals = {"measured_j": 0.0, "attributed_j": 0.0, "idle_j": 0.0}
        self.fallbacks: dict[str, int] = {}
        self.receivers: list[Callable[[Footprint, Footprint, Any], None]] = []
        self._queue: deque[_Pending] = deque()
        self._pending: list[_Pending] = []
        #: id -> (call, its start): the call is held so its id can't be reused by another
        #: call while it is in flight (an abandoned call leaves at `max_wait_s`)
        self._inflight: dict[int, tuple[Any, float]] = {}
        self._warned: set[str] = set()
        self._base_w: dict[str, float] = {}  # measured idle power per deployment
        self.closed_until = clock()  # windows follow one another from now
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._step_lock = threading.Lock()

    # -- the caller's side: two dict operations -------------------------------------
    def _started(self, call: Any) -> None:
        self._inflight[id(call)] = (call, call.started)

    def _sink(self, fp: Footprint, call: Any) -> None:
        self._inflight.pop(id(call), None)
        usage = call.usage
        if usage is None:
            return
        key = self._match(call) if self._match is not None else (
            usage.server_address, usage.server_port)
        if key not in self._by_key:
            return
        raw_j = fp.accelerator_wh * 3600.0
        if fp.method == "calibrated":
            cal = RATIOS.get(key)
            raw_j = raw_j / cal.ratio if cal is not None and cal.ratio > 0 else raw_j
        # the call's own end (its sink may run later, on the record queue's thread)
        ended = getattr(call, "ended", 0.0) or self.clock()
        self._queue.append(_Pending(fp, call, key, call.started, ended, raw_j))

    # -- life cycle -------------------------------------------------------------------
    def start(self, poll_s: float | None = None) -> Attributor:
        """Receive calls and close windows every `poll_s` on a daemon thread."""
        wait = seconds("poll_s", poll_s, default=min(self.window_s / 4, 1.0), hi=3600.0)
        add_start_hook(self._started)
        add_sink(self._sink)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, args=(wait,), daemon=True,
                                            name="wattmeter-measure")
            self._thread.start()
        return self

    def attach(self) -> Attributor:
        """Receive calls without a thread (tests and scripts call `step()` themselves)."""
        add_start_hook(self._started)
        add_sink(self._sink)
        return self

    def wait(self, until: float | None = None, timeout_s: float = 30.0) -> bool:
        """Block until every window up to `until` (epoch seconds; default now) is closed, or
        `timeout_s` passes; True when closed. For a batch job or a benchmark that wants its
        calls' measured figures before it goes on; never on a request path."""
        end = self.clock() if until is None else until
        if isinstance(end, bool) or not isinstance(end, (int, float)) or not math.isfinite(end):
            raise ValueError(f"until: got {until!r}; expected epoch seconds (default: now)")
        deadline = time.monotonic() + seconds("timeout_s", timeout_s, hi=86_400.0)
        while self.closed_until < end:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> None:
        """Stop receiving calls and closing windows (returns at once)."""
        remove_sink(self._sink)
        remove_start_hook(self._started)
        self._stop.set()
        stop_source = getattr(self.source, "stop", None)
        if stop_source is not None:
            stop_source()
        if self.learner is not None:
            self.learner.forget()

    def _run(self, wait: float) -> None:
        while not self._stop.wait(wait):
            try:
                self.step()
            except Exception as exc:
                try:
                    internal_error("measure", exc)
                except Exception:  # strict mode re-raises; the thread must go on
                    pass

    # -- windows ----------------------------------------------------------------------
    def step(self, now: float | None = None) -> list[WindowResult]:
        """Close every window that is due; the results (also kept in `results`)."""
        out: list[WindowResult] = []
        try:  # calls finished so far reach `_sink` (the record queue's thread may lag)
            _flush_records()
        except Exception as exc:
            internal_error("measure", exc)
        with self._step_lock:
            while True:
                now_ = self.clock() if now is None else now
                t0 = self.closed_until
                t1 = t0 + self.window_s
                if now_ < t1 + self.settle_s:
                    break
                late = now_ >= t1 + self.max_wait_s
                if not late and any(s < t1 for _, s in list(self._inflight.values())):
                    break
                closed = self._close(t0, t1, late)
                if closed is None:
                    break
                self.closed_until = t1
                out.extend(closed)
        return out

    def _take(self) -> None:
        while self._queue:
            p = self._queue.popleft()
            if p.start < self.closed_until:
                self._count("late_call", f"a call that started {self.closed_until - p.start:.1f}"
                            " s before the last closed window's end kept its estimate")
                continue
            self._pending.append(p)

    def _close(self, t0: float, t1: float, late: bool) -> list[WindowResult] | None:
        self._take()
        stuck = [k for k, (_, s) in list(self._inflight.items()) if s < t1] if late else []
        if stuck:
            self._count("calls_in_flight", f"calls still running {self.max_wait_s:g} s after "
                        "their window ended: the window closed without them")
            for k in stuck:  # a call that never finishes must not hold every later window
                self._inflight.pop(k, None)
        calls = [p for p in self._pending if p.start <= t1 and p.end >= t0]
        series: dict[str, list[Series]] = {}
        failed: dict[str, Fallback] = {}
        try:
            self.source.check_clock()
            for ep in self.endpoints:  # each on its own: one lagging endpoint fails only itself
                try:
                    found, metric = self.source.read(ep, t0, t1, self.max_gap_s)
                    if not found:
                        raise Fallback("missing_series", f"no {metric} series matches "
                                       f"{ep.name}'s GPUs {ep.gpus}")
                    for s in found:
                        s.check(t0, t1, self.max_gap_s)
                    if metric != "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION":
                        self._count("power_gauge", f"{ep.name}: no energy counter; power "
                                    "samples integrated instead", fallback=False)
                    series[ep.name] = found
                except NotReady:
                    if not late:
                        return None  # wait for its next sample: the window closes later
                    failed[ep.name] = Fallback("scrape_gap", f"no sample after the window "
                                               f"ending {t1:.0f} within max_wait_s")
                except Fallback as fb:
                    failed[ep.name] = fb
        except NotReady:  # from the clock check
            if not late:
                return None
            for ep in self.endpoints:
                if ep.name not in failed:
                    failed[ep.name] = Fallback("scrape_gap", f"no sample after the window "
                                               f"ending {t1:.0f} within max_wait_s")
        except Fallback as fb:
            failed = {ep.name: fb for ep in self.endpoints}
        results = [self._pool(names, series, failed, calls, t0, t1)
                   for names in self._pools(series, failed)]
        self._emit(t1)
        self.results.extend(results)
        return results

    def _pools(self, series: dict[str, list[Series]],
               failed: dict[str, Fallback]) -> list[list[str]]:
        """Endpoints grouped into deployments: those whose GPUs overlap are one."""
        pools: list[tuple[set[str], list[str]]] = []
        for ep in self.endpoints:
            keys = {s.key for s in series.get(ep.name, ())}
            joined = [p for p in pools if keys & p[0]]
            merged_keys, names = set(keys), [ep.name]
            for p in joined:
                merged_keys |= p[0]
                names = p[1] + names
                pools.remove(p)
            pools.append((merged_keys, names))
        for _, names in pools:
            if len(names) > 1 and not any(n in failed for n in names):
                self._count("shared_gpu", f"endpoints {', '.join(names)} share GPUs: their "
                            "calls split those GPUs' energy together", fallback=False)
        return [names for _, names in pools]

    def _pool(self, names: list[str], series: dict[str, list[Series]],
              failed: dict[str, Fallback], calls: list[_Pending], t0: float,
              t1: float) -> WindowResult:
        keys = {ep.key for ep in self.endpoints if ep.name in names}
        mine = [p for p in calls if p.key in keys]
        label = "+".join(names)
        bad = next((failed[n] for n in names if n in failed), None)
        if bad is not None:
            self._count(bad.reason, f"{label}: {bad.detail}; calls keep their estimate")
            for p in mine:
                p.reason = bad.reason
            return WindowResult(label, t0, t1, 0.0, 0.0, 0.0, len(mine), bad.reason)
        gpus = {s.key: s for n in names for s in series[n]}  # a shared GPU counted once

        def energy(a: float, b: float) -> float:
            return math.fsum(s.between(a, b) for s in gpus.values())

        sp = split(energy, [Share(p.start, p.end, p.raw_j) for p in mine], t0, t1,
                   spread_idle=self.spread_idle, base_w=self._base_w.get(label, 0.0))
        if sp.idle_s >= IDLE_SAMPLE_S:  # the GPUs' floor, from this window's idle pieces
            # (what they measured, also when spread_idle handed it to the calls)
            self._base_w[label] = sp.idle_seen_j / sp.idle_s
        for p, part in zip(mine, sp.per_call_j, strict=True):
            if p.part_j == 0.0 and p.first == 0.0:
                p.first = t0
            p.part_j += part
        attributed = math.fsum(sp.per_call_j)
        raw = math.fsum(sp.weights_j)
        if self.learner is not None and raw > 0 and attributed > 0:
            for key in keys:
                self.learner.learn(key, attributed / raw)
        self.totals["measured_j"] += sp.measured_j
        self.totals["attributed_j"] += attributed
        self.totals["idle_j"] += sp.idle_j
        if self.metrics is not None:
            self.metrics.window(label, sp.measured_j, sp.idle_j)
        return WindowResult(label, t0, t1, sp.measured_j, attributed, sp.idle_j, len(mine),
                            None)

    def _emit(self, t1: float) -> None:
        """Hand on the measured figure of every call whose last window just closed."""
        done = [p for p in self._pending if p.end <= t1]
        self._pending = [p for p in self._pending if p.end > t1]
        for p in done:
            est_j = p.fp.accelerator_wh * 3600.0
            if p.reason is not None or est_j <= 0:
                continue
            k = p.part_j / est_j
            fp = scaled(p.fp, k, MEASURED_SPREAD[0], MEASURED_SPREAD[1], "measured",
                        (p.first, t1))
            try:
                self._deliver(fp, p)
            except Exception as exc:
                internal_error("measure.deliver", exc)

    def _deliver(self, fp: Footprint, p: _Pending) -> None:
        from . import _outputs

        if self.metrics is not None:
            self.metrics.measured(fp)
        if self.ledger:
            _outputs.correct_ledger(fp, p.fp, p.end)
        if self.spans:
            _outputs.linked_span(p.call, fp)
        for receive in self.receivers:
            receive(fp, p.fp, p.call)

    def _count(self, reason: str, detail: str, fallback: bool = True) -> None:
        self.fallbacks[reason] = self.fallbacks.get(reason, 0) + 1
        if fallback:
            count_error(f"measure_{reason}")
        if self.metrics is not None:
            self.metrics.fallback(reason)
        if reason not in self._warned:
            self._warned.add(reason)
            logger.warning("wattmeter measured attribution: %s (%s); further cases are "
                           "counted in wattmeter_measure_fallbacks_total{reason=%r}",
                           detail, "the estimate stands" if fallback else "still measured",
                           reason)
