"""Where GPU energy samples come from: Prometheus (DCGM exporter), or an exporter scraped
directly when there is no Prometheus (the example, small setups).

Both return, per endpoint, the raw samples of its GPUs around a window as `Series`:
DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION (mJ, a counter) where it exists, else
DCGM_FI_DEV_POWER_USAGE (W, a gauge) integrated. Prometheus is asked through the fleet
budgets' client (`budget._fleet.FleetSource`: one total deadline, size limit, answers
validated), only ever from the attributor's background thread.
"""

from __future__ import annotations

import math
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..budget._fleet import FleetError, FleetSource, number
from ._endpoints import Endpoint, matches, promql_selector
from ._series import Fallback, Series, integrate_power, seconds

__all__ = ["ENERGY", "POWER", "PrometheusSource", "ScrapeSource", "series_key"]

ENERGY = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"  # mJ since boot, counter (dcgm-exporter)
POWER = "DCGM_FI_DEV_POWER_USAGE"  # W, gauge (dcgm-exporter)


def series_key(labels: Mapping[str, str]) -> str:
    """One GPU's identity: its host and UUID (or index), whatever else is on the series."""
    host = labels.get("Hostname") or labels.get("instance") or "?"
    gpu = labels.get("UUID") or labels.get("gpu") or labels.get("device") or "?"
    return f"{host}/{gpu}"


class PrometheusSource:
    """Raw DCGM samples from Prometheus' HTTP API, and the skew of its clock against ours."""

    def __init__(self, url: str, *, timeout_s: float = 2.0, max_skew_s: float = 2.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.fleet = FleetSource(url, timeout_s=seconds("timeout_s", timeout_s, hi=600.0))
        self.max_skew_s = seconds("max_skew_s", max_skew_s, zero=True, hi=3600.0)
        self.clock = clock

    def check_clock(self) -> None:
        """Raise `Fallback("clock_skew")` when Prometheus' clock and ours differ by more
        than ``max_skew_s`` (samples are stamped by its clock, calls by ours)."""
        before = self.clock()
        data = self._ask("time()", None)
        after = self.clock()
        try:
            theirs = number(data["result"][0])
        except (KeyError, IndexError, TypeError, ValueError, FleetError):
            raise Fallback("prometheus_down", "time() gave no number") from None
        skew = theirs - 0.5 * (before + after)
        if abs(skew) > self.max_skew_s + 0.5 * (after - before):
            raise Fallback("clock_skew", f"Prometheus' clock is {skew:+.1f} s from this "
                           f"host's (more than max_skew_s={self.max_skew_s:g})")

    def _ask(self, promql: str, at: float | None) -> Any:
        try:
            return self.fleet.data(promql, at)
        except FleetError as exc:
            raise Fallback("prometheus_down", str(exc)) from None

    def read(self, ep: Endpoint, t0: float, t1: float, lookback_s: float) -> tuple[
            list[Series], str]:
        """The endpoint's GPUs from `t0 - lookback_s` to the newest sample, and which
        metric they are (ENERGY, or POWER when no energy counter is exported)."""
        at = self.clock()
        seconds = max(1, math.ceil(at - t0 + lookback_s))
        sel = promql_selector(ep)
        for metric in (ENERGY, POWER):
            data = self._ask(f"{metric}{sel}[{seconds}s]", at)
            found = _matrix(data, metric)
            if found:
                return found, metric
        return [], ENERGY


def _matrix(data: Any, metric: str) -> list[Series]:
    """Series out of a Prometheus matrix answer (values validated: finite, >= 0)."""
    if not isinstance(data, Mapping) or data.get("resultType") != "matrix":
        raise Fallback("prometheus_down", "the answer was not a range vector")
    out: list[Series] = []
    try:
        for r in data["result"]:
            labels = {str(k): str(v) for k, v in r["metric"].items()}
            pairs = [(float(t), number(v)) for t, v in r["values"]]
            if not all(math.isfinite(t) for t, _ in pairs):
                raise ValueError("time")
            out.append(_series(labels, pairs, metric))
    except (KeyError, TypeError, ValueError, FleetError) as exc:
        raise Fallback("bad_sample", f"a sample that is not a finite, non-negative "
                       f"number ({type(exc).__name__})") from None
    return out


def _series(labels: Mapping[str, str], pairs: Sequence[tuple[float, float]],
            metric: str) -> Series:
    pairs = sorted(pairs)
    times = [t for t, _ in pairs]
    if metric == ENERGY:
        joules = [v / 1000.0 for _, v in pairs]  # mJ
    else:
        joules = integrate_power(times, [v for _, v in pairs])
    return Series(series_key(labels), labels, times, joules)


class ScrapeSource:
    """Scrapes a DCGM exporter's ``/metrics`` itself every `interval_s` on its own thread
    and keeps the samples (stamped by this host's clock) for `retention_s`."""

    def __init__(self, url: str, *, interval_s: float = 0.5, timeout_s: float = 2.0,
                 retention_s: float = 900.0, clock: Callable[[], float] = time.time) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"ScrapeSource(url=...): got {url!r}; expected the exporter's "
                             "http:// URL, e.g. 'http://node-1:9400/metrics'")
        self.url = url
        self.interval_s = seconds("interval_s", interval_s, hi=3600.0)
        self.timeout_s = seconds("timeout_s", timeout_s, hi=600.0)
        self.retention_s = seconds("retention_s", retention_s, hi=7 * 86_400.0)
        self.clock = clock
        self.failures = 0
        self._samples: dict[tuple[str, str], tuple[dict[str, str], deque[tuple[float, float]]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ScrapeSource:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="wattmeter-measure-scrape",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.scrape()
            except Exception:  # down or garbled: a gap, which the windows will see
                self.failures += 1
            self._stop.wait(self.interval_s)

    def scrape(self) -> None:
        """Read the exporter once and keep its energy and power samples."""
        from prometheus_client.parser import text_string_to_metric_families

        with urllib.request.urlopen(self.url, timeout=self.timeout_s) as resp:
            text = resp.read(1 << 22).decode("utf-8", "replace")
        now = self.clock()
        with self._lock:
            for family in text_string_to_metric_families(text):
                if family.name not in (ENERGY, POWER):
                    continue
                for s in family.samples:
                    value = float(s.value)
                    if not math.isfinite(value) or value < 0:
                        continue
                    labels = dict(s.labels)
                    key = (family.name, series_key(labels))
                    entry = self._samples.setdefault(key, (labels, deque()))
                    entry[1].append((now, value))
                    while entry[1] and entry[1][0][0] < now - self.retention_s:
                        entry[1].popleft()

    def check_clock(self) -> None:
        """Samples are stamped by this host's clock: there is no skew to check."""

    def read(self, ep: Endpoint, t0: float, t1: float, lookback_s: float) -> tuple[
            list[Series], str]:
        """The endpoint's GPUs' samples kept so far (see `PrometheusSource.read`)."""
        for metric in (ENERGY, POWER):
            with self._lock:
                found = [_series(labels, [p for p in pts if p[0] >= t0 - lookback_s], metric)
                         for (name, _), (labels, pts) in self._samples.items()
                         if name == metric and matches(ep, labels)]
            if found:
                return found, metric
        return [], ENERGY
