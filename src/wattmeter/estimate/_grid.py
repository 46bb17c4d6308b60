"""Grid carbon intensity by zone, and each provider's default zone, PUE and hardware mix.

The zone table itself is `_zones` (re-exported here); `intensity_for` answers from a live
Electricity Maps value (`_live`) when one is configured and cached, else from the table.
Data flows one way: `_zones` <- `_live` <- `_grid`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from . import _live
from ._zones import GridZone, all_zones, loaded_once, zone_intensity
from ._zones import data as _data

__all__ = [
    "GridZone",
    "ProviderDefaults",
    "all_providers",
    "all_zones",
    "intensity_for",
    "provider_defaults",
    "zone_intensity",
]


class ProviderDefaults(NamedTuple):
    """Where a provider serves from when a call doesn't say: zone, PUE, grid range, GPU mix."""

    provider: str
    zone: str
    pue: float
    pue_low: float
    pue_high: float
    intensity_low: float
    intensity_high: float
    hardware: tuple[tuple[str, float], ...]
    source: str
    year: int


_provider_aliases: dict[str, str] = {}
#: Fast path of `intensity_for`: exact spelling -> gCO2e/kWh from the table.
_intensity: dict[str, float] = {}


def intensity_for(zone: str) -> float:
    """Grid intensity of `zone` in gCO2e/kWh: live when configured and cached, else the table.

    Never blocks on the network: a missing or stale live value starts a background refresh
    and this call answers from the table (or the previous live value) meanwhile.
    """
    s = _live._settings
    if (s is None or s.enabled) and _live.enabled():
        value = _live.cached_intensity(zone)
        if value is not None:
            return value
    try:
        return _intensity[zone]
    except KeyError:
        value = zone_intensity(zone).gco2e_per_kwh
        if len(_intensity) < 1024:
            _intensity[zone] = value
        return value


# ---------------------------------------------------------------------------- providers
def _build_providers() -> dict[str, ProviderDefaults]:
    """providers.json's defaults by provider; fills `_provider_aliases`."""
    data = _data("providers.json")
    loaded = {}
    for p in data["providers"]:
        loaded[p["provider"]] = ProviderDefaults(
            p["provider"], p["zone"], float(p["pue"]), float(p["pue_low"]),
            float(p["pue_high"]), float(p["intensity_low"]), float(p["intensity_high"]),
            tuple((str(g), float(w)) for g, w in p["hardware"]), p["source"], int(p["year"]))
    _provider_aliases.clear()
    _provider_aliases.update(data.get("aliases", {}))
    return loaded


_load_providers = loaded_once(_build_providers)


def provider_defaults(provider: str | None) -> ProviderDefaults:
    """Defaults of `provider` (aliases such as "gemini", "vertex_ai", "azure_openai" accepted);
    unknown or None -> the generic "custom" defaults."""
    providers = _load_providers()
    if not provider or not isinstance(provider, str):
        return providers["custom"]
    key = provider.strip().lower()
    hit = providers.get(key)
    if hit is None:
        hit = providers.get(_provider_aliases.get(key, ""), providers["custom"])
    return hit


def all_providers() -> Mapping[str, ProviderDefaults]:
    """Every provider's defaults, by provider name."""
    return dict(_load_providers())
