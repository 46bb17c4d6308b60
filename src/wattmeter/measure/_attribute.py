"""Divide one window's measured GPU energy among the calls that ran in it (pure).

The rule (docs/measured.md): the window is cut wherever a call starts or ends; the energy
measured in a piece where no call was in flight is the deployment's idle line; the energy
of any other piece is divided among the calls running through it in proportion to their
estimated power (the estimate, with the physics' prefill and decode weights, over the
call's duration). Overlap in time is thus honoured: a call running alone takes all of its
piece. Per-call figures plus the idle line sum to the measurement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import NamedTuple

__all__ = ["Share", "Split", "busy_intervals", "split"]

_MIN_RUN_S = 1e-6


class Share(NamedTuple):
    """One call as the split sees it: when it ran and its estimated accelerator joules."""

    start: float
    end: float
    estimate_j: float


class Split(NamedTuple):
    """A window divided: joules per call (in the order given), idle and the total."""

    per_call_j: list[float]
    idle_j: float
    measured_j: float
    weights_j: list[float]
    idle_s: float = 0.0  # seconds of the window with no call in flight
    idle_seen_j: float = 0.0  # joules of those seconds, before `spread_idle` gives them away


def busy_intervals(shares: Sequence[Share], t0: float, t1: float) -> list[tuple[float, float]]:
    """The union of the calls' run times inside [t0, t1], as sorted disjoint intervals."""
    spans = sorted((max(s.start, t0), min(s.end, t1)) for s in shares
                   if s.end >= t0 and s.start <= t1)
    out: list[tuple[float, float]] = []
    for a, b in spans:
        if b < a:
            continue
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _in_window(s: Share, t0: float, t1: float) -> float:
    """The part of a call's estimate that falls inside [t0, t1] (even over its run)."""
    dur = s.end - s.start
    if dur <= 0:
        return s.estimate_j if t0 <= s.start < t1 else 0.0
    overlap = min(s.end, t1) - max(s.start, t0)
    return s.estimate_j * overlap / dur if overlap > 0 else 0.0


def split(energy: Callable[[float, float], float], shares: Sequence[Share], t0: float,
          t1: float, *, spread_idle: bool = False, base_w: float = 0.0) -> Split:
    """Divide ``energy(t0, t1)`` (joules measured between two instants) among `shares`.

    The window is cut at every call's start and end; the energy of each piece goes to the
    calls running through it in proportion to their estimated power (estimate / duration),
    or to the idle line when none runs. `base_w`, the GPUs' measured idle power, is
    time-based: in each piece ``base_w x its length`` is shared equally by the calls
    running through it, and only the rest by estimated power. With `spread_idle` the idle
    line is divided among the calls too (in proportion to what they already got) and
    reported as zero.
    """
    measured = energy(t0, t1)
    n = len(shares)
    weights = [_in_window(s, t0, t1) for s in shares]
    # a run shorter than a microsecond (a clock's rounding) is priced as one: dividing by a
    # subnormal duration gave an infinite rate and NaN shares
    rates = [s.estimate_j / max(s.end - s.start, _MIN_RUN_S) if s.end > s.start else 0.0
             for s in shares]
    edges = sorted({t0, t1, *(x for s in shares for x in (s.start, s.end) if t0 < x < t1)})
    order = sorted((i for i in range(n) if rates[i] > 0), key=lambda i: shares[i].start)
    per_call = [0.0] * n
    idle = idle_s = 0.0
    active: list[int] = []
    nxt = 0
    for a, b in pairwise(edges):
        while nxt < len(order) and shares[order[nxt]].start <= a:
            active.append(order[nxt])
            nxt += 1
        active = [i for i in active if shares[i].end > a]
        e = energy(a, b)
        total = sum(rates[i] for i in active)
        if total <= 0:
            idle += e
            idle_s += b - a
            continue
        base = min(base_w * (b - a), e) / len(active)
        rest = e - base * len(active)
        for i in active:
            per_call[i] += base + rest * (rates[i] / total)  # the share first: with
            # subnormal estimates rest * rate rounds up to 2 x the true product
    given = sum(per_call)
    seen = idle
    if spread_idle and given > 0:
        per_call = [p + idle * (p / given) for p in per_call]  # share first (as above)
        idle = 0.0
    return Split(per_call, idle, measured, weights, idle_s, seen)
