"""The constants of the energy models (physics.json), loaded once as plain name -> value maps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["constants"]

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
