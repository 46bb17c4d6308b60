"""Raw energy samples of one GPU and the energy between two instants, checked.

A series is what an energy source returned for one GPU: (time, joules so far) samples of
a counter (DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION, NVML's total energy) or of a power gauge
integrated (DCGM_FI_DEV_POWER_USAGE). Energy between two instants is the difference of
the counter linearly interpolated at each. Anything that makes that difference wrong
(a reset, a gap, a series that does not cover the window) raises `Fallback` with the
counted reason; a window the samples have not reached yet raises `NotReady`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence

__all__ = ["REASONS", "Fallback", "NotReady", "Series", "integrate_power", "seconds"]

#: Every counted reason a window's figure falls back to the estimate (or is qualified):
#: the ``reason`` label of ``wattmeter_measure_fallbacks_total`` (docs/measured.md).
REASONS = ("prometheus_down", "missing_series", "counter_reset", "scrape_gap", "clock_skew",
           "late_call", "calls_in_flight", "bad_sample", "no_gpu", "shared_gpu",
           "power_gauge")


def seconds(name: str, value: object, *, default: float | None = None,
            lo: float = 0.0, hi: float = 86_400.0, zero: bool = False) -> float:
    """A duration option checked at the boundary: a finite number of seconds in (lo, hi]
    (or [0, hi] with `zero`), else a ValueError naming the option; None takes `default`."""
    if value is None and default is not None:
        return float(default)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        value) and (lo <= value if zero else lo < value) and value <= hi
    if not ok:
        low = f"from {lo:g}" if zero else f"above {lo:g}"
        raise ValueError(f"{name}: got {value!r}; expected seconds {low} up to {hi:g}")
    return float(value)  # type: ignore[arg-type]


class Fallback(Exception):
    """The window's measurement can't be trusted; its calls keep their estimate."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class NotReady(Exception):
    """The samples do not reach the window's end yet (ask again later)."""


class Series:
    """One GPU's cumulative energy in joules at sample times (seconds), sorted by time."""

    __slots__ = ("joules", "key", "labels", "times")

    def __init__(self, key: str, labels: Mapping[str, str], times: Sequence[float],
                 joules: Sequence[float]) -> None:
        self.key = key
        self.labels = dict(labels)
        self.times = list(times)
        self.joules = list(joules)

    def check(self, t0: float, t1: float, max_gap_s: float) -> None:
        """Raise unless the samples cover [t0, t1] without reset or gap over `max_gap_s`."""
        ts, js = self.times, self.joules
        if not ts or ts[-1] < t1:
            raise NotReady(self.key)
        if ts[0] > t0:
            raise Fallback("scrape_gap", f"{self.key}: no sample at or before the window "
                           "start (a series born inside the window, or a gap)")
        lo = max(bisect.bisect_right(ts, t0) - 1, 0)
        hi = min(bisect.bisect_left(ts, t1), len(ts) - 1)
        for i in range(lo, hi + 1):  # the sample at the window's start is read too
            if not (math.isfinite(js[i]) and js[i] >= 0):
                raise Fallback("bad_sample", f"{self.key}: a sample that is not a finite, "
                               "non-negative number")
            if i == lo:
                continue
            if js[i] < js[i - 1]:
                raise Fallback("counter_reset", f"{self.key}: the energy counter went down "
                               "(exporter or GPU restarted)")
            if ts[i] - ts[i - 1] > max_gap_s:
                raise Fallback("scrape_gap", f"{self.key}: {ts[i] - ts[i - 1]:.1f} s without "
                               f"a sample (more than {max_gap_s:g} s)")

    def at(self, t: float) -> float:
        """Joules so far at `t`, interpolated (clamped to the first and last sample)."""
        ts, js = self.times, self.joules
        i = bisect.bisect_right(ts, t)
        if i <= 0:
            return js[0]
        if i >= len(ts):
            return js[-1]
        t_a, t_b = ts[i - 1], ts[i]
        if t_b <= t_a:
            return js[i]
        return js[i - 1] + (js[i] - js[i - 1]) * (t - t_a) / (t_b - t_a)

    def between(self, a: float, b: float) -> float:
        """Joules spent in [a, b] (after `check`)."""
        d = self.at(b) - self.at(a)
        return d if d > 0.0 else 0.0  # max(nan, 0.0) would be NaN


def integrate_power(times: Sequence[float], watts: Sequence[float]) -> list[float]:
    """Cumulative joules of power samples (trapezoids), so a gauge reads like a counter."""
    out: list[float] = []
    total = 0.0
    for i, w in enumerate(watts):
        if i:
            total += 0.5 * (w + watts[i - 1]) * (times[i] - times[i - 1])
        out.append(total)
    return out
