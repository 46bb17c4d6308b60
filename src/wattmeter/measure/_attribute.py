"""Divide one window's measured GPU energy among the calls that ran in it (pure).

The rule (docs/measured.md): the energy spent while no call was in flight is the
deployment's idle line; the rest is divided among the calls in proportion to their
estimated accelerator energy inside the window (a call's estimate spread evenly over its
duration, so overlap in time is honoured and the physics' prefill/decode weights carry
over). Per-call figures plus the idle line sum exactly to the measurement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

__all__ = ["Share", "Split", "busy_intervals", "split"]


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
          t1: float, *, spread_idle: bool = False) -> Split:
    """Divide ``energy(t0, t1)`` (joules measured between two instants) among `shares`.

    With `spread_idle` the idle line is divided among the calls too (by the same weights)
    and reported as zero; with no call to carry it, it stays idle.
    """
    measured = energy(t0, t1)
    weights = [_in_window(s, t0, t1) for s in shares]
    total_w = sum(weights)
    busy = busy_intervals([s for s, w in zip(shares, weights, strict=True) if w > 0], t0, t1)
    busy_j = min(sum(energy(a, b) for a, b in busy), measured)
    idle = measured - busy_j
    if total_w <= 0:
        return Split([0.0] * len(shares), measured, measured, weights)
    to_split = measured if spread_idle else busy_j
    per_call = [to_split * w / total_w for w in weights]
    return Split(per_call, 0.0 if spread_idle else idle, measured, weights)
