"""The static grid-intensity table: zones, their spellings and where each number comes from.

Zones are ISO 3166 country codes (``FR``), ``WORLD``, or cloud regions (``aws:us-east-1``,
``gcp:us-central1``, ``azure:eastus``; the cloud prefix may be left out where the region name
is unambiguous). Values are gCO2e/kWh, location-based, with source, year and basis
(life-cycle or direct) in ``data/grid.json``, which scripts/grid_data.py generates from a pinned
release of a maintained source. The bottom of the grid layer: `_live` reads
a zone's Electricity Maps key here, and `_grid` chooses between live and table values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar

from .._fork import renew_in_child

__all__ = ["GridZone", "all_zones", "data", "loaded_once", "zone_intensity"]


class GridZone(NamedTuple):
    """One grid zone's carbon intensity (gCO2e/kWh) with where the number comes from.

    ``kind`` is "world", "country" or "cloud-region"; ``basis`` is "life-cycle" or "direct";
    ``live_zone`` is the Electricity Maps zone queried for a live value ("" for none);
    ``version`` the source's release the figure was read from, ``year`` the data year;
    ``derived_from`` the zone whose figure a cloud region takes ("" when its own).
    """

    zone: str
    name: str
    gco2e_per_kwh: float
    kind: str
    source: str
    year: int
    basis: str = "life-cycle"
    live_zone: str = ""
    version: str = ""
    derived_from: str = ""


T = TypeVar("T")
_lookup: dict[str, str] = {}  # accepted spelling (lower case) -> canonical zone

_CLOUD_PREFIXES = {"aws": "aws", "amazon": "aws", "gcp": "gcp", "google": "gcp",
                   "googlecloud": "gcp", "azure": "azure", "microsoft": "azure"}


def data(name: str) -> Any:
    """The parsed JSON data file `name` of this package."""
    import json
    from pathlib import Path

    return json.loads((Path(__file__).with_name("data") / name).read_text(encoding="utf-8"))


class _Once(Generic[T]):
    """`build()`'s result, built by the first caller under a lock that a forked child gets
    afresh (a fork while another thread parsed the file hung the child's first estimate)."""

    __slots__ = ("__weakref__", "_box", "_build", "_lock")

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._box: list[T] = []
        self._lock = threading.Lock()
        renew_in_child(self)

    def __call__(self) -> T:
        box = self._box
        if not box:
            with self._lock:
                if not box:
                    box.append(self._build())
        return box[0]


def loaded_once(build: Callable[[], T]) -> Callable[[], T]:
    """A getter of `build()`'s result: the first caller builds it under a lock (a data
    file parsed once, whichever threads ask first); later callers read it without one."""
    return _Once(build)


def _build_zones() -> dict[str, GridZone]:
    """grid.json's zones by canonical name; fills `_lookup` with their accepted spellings."""
    loaded: dict[str, GridZone] = {}
    spellings: dict[str, list[str]] = {}
    for z in data("grid.json")["zones"]:
        gz = GridZone(z["zone"], z["name"], float(z["gco2e_per_kwh"]), z["kind"],
                      z["source"], int(z["year"]), z.get("basis", "life-cycle"),
                      z.get("live_zone", ""), str(z.get("version", "")),
                      z.get("derived_from", ""))
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
    return loaded


_load_zones = loaded_once(_build_zones)


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
