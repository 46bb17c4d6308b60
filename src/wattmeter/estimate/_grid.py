"""Grid carbon intensity by zone, and each provider's default zone, PUE and hardware mix.

Zones are ISO 3166 country codes (``FR``), ``WORLD``, or cloud regions (``aws:us-east-1``,
``gcp:us-central1``, ``azure:eastus``; the cloud prefix may be left out where the region name
is unambiguous). Values are gCO2e/kWh, location-based, with source, year and basis
(life-cycle or direct) in ``data/grid.json``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, NamedTuple

from . import _live

__all__ = [
    "GridZone",
    "ProviderDefaults",
    "all_providers",
    "all_zones",
    "intensity_for",
    "provider_defaults",
    "zone_intensity",
]


class GridZone(NamedTuple):
    """One grid zone's carbon intensity (gCO2e/kWh) with where the number comes from.

    ``kind`` is "world", "country" or "cloud-region"; ``basis`` is "life-cycle" or "direct";
    ``live_zone`` is the Electricity Maps zone queried for a live value ("" for none).
    """

    zone: str
    name: str
    gco2e_per_kwh: float
    kind: str
    source: str
    year: int
    basis: str = "life-cycle"
    live_zone: str = ""


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


_lock = threading.Lock()
_zones: dict[str, GridZone] | None = None  # canonical zone -> GridZone
_lookup: dict[str, str] = {}  # accepted spelling (lower case) -> canonical zone
_providers: dict[str, ProviderDefaults] | None = None
_provider_aliases: dict[str, str] = {}
#: Fast path of `intensity_for`: exact spelling -> gCO2e/kWh from the table.
_intensity: dict[str, float] = {}

_CLOUD_PREFIXES = {"aws": "aws", "amazon": "aws", "gcp": "gcp", "google": "gcp",
                   "googlecloud": "gcp", "azure": "azure", "microsoft": "azure"}


def _data(name: str) -> Any:
    import json
    from pathlib import Path

    return json.loads((Path(__file__).with_name("data") / name).read_text(encoding="utf-8"))


def _load_zones() -> dict[str, GridZone]:
    global _zones
    zones = _zones
    if zones is not None:
        return zones
    with _lock:
        if _zones is None:
            loaded: dict[str, GridZone] = {}
            spellings: dict[str, list[str]] = {}
            for z in _data("grid.json")["zones"]:
                gz = GridZone(z["zone"], z["name"], float(z["gco2e_per_kwh"]), z["kind"],
                              z["source"], int(z["year"]), z.get("basis", "life-cycle"),
                              z.get("live_zone", ""))
                loaded[gz.zone] = gz
                spellings.setdefault(gz.zone.lower(), []).append(gz.zone)
                if ":" in gz.zone:
                    bare = gz.zone.split(":", 1)[1].lower()
                    spellings.setdefault(bare, []).append(gz.zone)
            _lookup.clear()
            for key, targets in spellings.items():
                exact = [t for t in targets if t.lower() == key]
                if exact:
                    _lookup[key] = exact[0]
                elif len(set(targets)) == 1:  # bare region name, one cloud only
                    _lookup[key] = targets[0]
            _zones = loaded
        return _zones


def _canonical(zone: str) -> str | None:
    zones = _load_zones()
    if not isinstance(zone, str):
        return None
    key = zone.strip().lower()
    hit = _lookup.get(key)
    if hit is None and ":" in key:  # other cloud spellings: "google:us-central1", "AWS/..."
        cloud, _, region = key.partition(":")
        cloud = _CLOUD_PREFIXES.get(cloud, cloud)
        hit = _lookup.get(f"{cloud}:{region}")
    elif hit is None and "/" in key:
        cloud, _, region = key.partition("/")
        if cloud in _CLOUD_PREFIXES:
            hit = _lookup.get(f"{_CLOUD_PREFIXES[cloud]}:{region}")
    return hit if hit in zones else None


def zone_intensity(zone: str) -> GridZone:
    """The `GridZone` of `zone` (case-insensitive); ``ValueError`` naming the valid forms."""
    canon = _canonical(zone)
    if canon is None:
        raise ValueError(
            f"grid zone {zone!r} is unknown; expected 'WORLD', an ISO 3166 country code such "
            "as 'US', 'FR' or 'IN', or a cloud region such as 'aws:us-east-1', "
            "'gcp:europe-west1' or 'azure:westeurope' (`wattmeter zones` lists them all), or "
            "give the intensity itself with grid_intensity=<gCO2e/kWh>")
    return _load_zones()[canon]


def all_zones() -> list[GridZone]:
    """Every zone of the table: world, countries, then cloud regions, each sorted by code."""
    order = {"world": 0, "country": 1, "cloud-region": 2}
    return sorted(_load_zones().values(), key=lambda z: (order.get(z.kind, 3), z.zone))


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
def _load_providers() -> dict[str, ProviderDefaults]:
    global _providers
    providers = _providers
    if providers is not None:
        return providers
    with _lock:
        if _providers is None:
            data = _data("providers.json")
            loaded = {}
            for p in data["providers"]:
                loaded[p["provider"]] = ProviderDefaults(
                    p["provider"], p["zone"], float(p["pue"]), float(p["pue_low"]),
                    float(p["pue_high"]), float(p["intensity_low"]), float(p["intensity_high"]),
                    tuple((str(g), float(w)) for g, w in p["hardware"]), p["source"],
                    int(p["year"]))
            _provider_aliases.clear()
            _provider_aliases.update(data.get("aliases", {}))
            _providers = loaded
        return _providers


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
