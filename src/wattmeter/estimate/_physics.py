"""The constants of the energy models (physics.json), loaded once as plain name -> value maps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["constants", "percentile"]

_DATA = Path(__file__).with_name("data") / "physics.json"
_cache: dict[str, dict[str, Any]] = {}


def constants(section: str) -> dict[str, Any]:
    """Values of one section ("text", "diffusion", "speech", "overhead", "uncertainty")."""
    if not _cache:
        raw = json.loads(_DATA.read_text(encoding="utf-8"))
        for name, entries in raw.items():
            if name.startswith("_"):
                continue
            values: dict[str, Any] = {}
            for key, entry in entries.items():
                values[key] = entry["value"]
                for extra in ("low", "high"):
                    if extra in entry:
                        values[f"{key}_{extra}"] = entry[extra]
            _cache[name] = values
    return _cache[section]


def percentile(xs: list[float], q: float) -> float:
    """The `q` quantile (0-1) of `xs`, linearly interpolated: the Monte Carlo bounds' rule."""
    xs = sorted(xs)
    pos = q * (len(xs) - 1)
    i = int(pos)
    j = min(i + 1, len(xs) - 1)
    return xs[i] + (xs[j] - xs[i]) * (pos - i)
