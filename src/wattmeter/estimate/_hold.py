"""Monte Carlo draws held at their median, to decompose an estimate's spread.

benchmarks/width_parts.py holds one unknown at a time (the model's size, the fleet's
hardware, its interactivity, the physics' error, ...) and reports the p95/p5 left, so
docs/regimes.md can say where each provider estimate's width comes from. Nothing is held
in use: `hold` then returns every draw unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

__all__ = ["PARTS", "held", "hold", "set_held"]

#: The unknowns `build` draws, by the name a benchmark holds them with.
PARTS = ("size", "hardware", "precision", "interactivity", "load", "prefix_cache",
         "speculation", "physics_error", "host", "idle_share", "pue", "sibling_ratio",
         "anchor_error", "anchor_size", "anchor", "attention_window")
_held: set[str] = set()
T = TypeVar("T")


def set_held(names: Iterable[str]) -> None:
    """Hold these draws at their median from now on (benchmarks; callers then clear the
    estimate cache); unknown names are a ValueError."""
    names = set(names)
    bad = names - set(PARTS)
    if bad:
        raise ValueError(f"held parts: got {sorted(bad)}; expected some of {PARTS}")
    _held.clear()
    _held.update(names)


def held() -> frozenset[str]:
    """The draws currently held."""
    return frozenset(_held)


def hold(name: str, drawn: T, median: T) -> T:
    """`median` when the draw `name` is held, else `drawn` (the random stream advances
    either way, so the other draws stay the same)."""
    return median if _held and name in _held else drawn
