"""Market-based emission factors (GHG Protocol Scope 2), beside grid.json's location-based ones.

A call's market-based factor is, in order: the factor its provider publishes; the residual
mix of its zone's country; else its location-based factor, as the Scope 2 guidance allows
where no residual mix is published. Figures, sources and years are in ``data/market.json``;
docs/grid.md explains.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ._zones import data, loaded_once, zone_intensity

__all__ = ["MarketFactor", "market_factor", "market_table"]


class MarketFactor(NamedTuple):
    """One market-based factor (gCO2e/kWh) and where it comes from.

    ``kind`` is "provider", "residual-mix" or "location" (no market figure
    known: the location-based factor stands in); ``year`` is 0 when not applicable.
    """

    gco2e_per_kwh: float
    kind: str
    source: str
    year: int


def _build_table() -> dict[str, Any]:
    raw = data("market.json")
    sources = raw["sources"]
    return {
        "providers": {p["provider"]: MarketFactor(
            float(p["gco2e_per_kwh"]), "provider", sources[p["source"]], int(p["year"]))
            for p in raw["providers"]},
        "residual": {r["country"]: MarketFactor(
            float(r["gco2e_per_kwh"]), "residual-mix", sources[r["source"]],
            int(r["year"])) for r in raw["residual_mixes"]},
        "sources": dict(sources),
    }


#: The parsed market.json: provider factors by provider, residual mixes by country.
market_table = loaded_once(_build_table)


def _country(zone: str) -> str | None:
    """The ISO country of a zone of the table (cloud regions: their grid zone's country)."""
    try:
        z = zone_intensity(zone)
    except ValueError:  # "custom": an intensity given as a number
        return None
    if z.kind == "country":
        return z.zone
    if z.kind == "cloud-region":
        if len(z.live_zone) >= 2:
            return z.live_zone[:2].upper()
        if len(z.derived_from) == 2:
            return z.derived_from
    return None


def market_factor(provider: str, zone: str, location: float) -> MarketFactor:
    """The market-based factor of a call served by `provider` (canonical name) in `zone`,
    whose location-based factor is `location` gCO2e/kWh."""
    table = market_table()
    hit = table["providers"].get(provider)
    if hit is not None:
        return hit
    country = _country(zone)
    if country is not None:
        hit = table["residual"].get(country)
        if hit is not None:
            return hit
    return MarketFactor(float(location), "location",
                        "no market-based figure known: the location-based factor stands in", 0)
