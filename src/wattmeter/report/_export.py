"""The CSRD (ESRS E1) / GHG Protocol Scope 3 Category 1 export: one record per team and period.

What a sustainability lead copies into a disclosure: energy, location- and market-based
CO2e with their p5-p95 ranges, embodied CO2e, water, abiotic depletion, the method
version, the serving regimes the calls were estimated in and the sources of the emission
factors. JSON carries the sources once in a
``sources`` list; CSV rows name the zones and the year of each factor (the full citations
would repeat on every row). The schema is documented in docs/reports.md.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, tzinfo
from typing import Any

from .._numbers import decimal
from .._safe_text import for_csv
from .._version import METHOD_VERSION, __version__
from ._data import Data, Sums

__all__ = ["COLUMNS", "REGIMES", "SCHEMA", "export_csv", "export_json", "records",
           "regime_shares"]

SCHEMA = "wattmeter.csrd/1"
#: Columns of the CSV (and keys of each JSON record), in order.
COLUMNS = ("team", "period_start", "period_end", "calls", "energy_kwh",
           "co2e_location_kg", "co2e_location_kg_low", "co2e_location_kg_high",
           "co2e_market_kg", "co2e_market_kg_low", "co2e_market_kg_high",
           "co2e_embodied_kg", "co2e_embodied_kg_low", "co2e_embodied_kg_high",
           "water_l", "water_l_low", "water_l_high", "adpe_kg_sb_eq", "grid_zones",
           "method_versions", "scope3_category", "esrs", "regimes")
BOUNDARY = ("Facility energy of the calls (accelerator + host + idle capacity, times the "
            "data centre's PUE); CO2e usage = energy x grid emission factor "
            "(location-based: the local grid average; market-based: the provider's "
            "published factor or the residual mix); embodied = hardware manufacturing "
            "amortised over the servers' life (cradle to gate); water = on-site cooling plus "
            "electricity generation plus hardware manufacturing (consumption). What the "
            "energy counts beyond the accelerators follows each call's serving regime, "
            "listed with what each one counts.")
#: What each serving regime's energy counts (docs/regimes.md): a report states which ones
#: priced its calls, and their shares of the energy.
REGIMES = {
    "provider": "the provider's fleet (hardware, batch under an interactivity target, "
                "speculative decoding, prefix caching); energy on Google's comprehensive "
                "boundary: active accelerators, host CPU/DRAM, idle reserved machines, PUE",
    "tuned": "one self-hosted replica on a tuned serving engine (vLLM/xDiT class); energy: "
             "accelerators x server factor (host, network, idle share) x PUE",
    "naive": "library-default inference (FP32, eager kernels, batch 1); energy: the whole "
             "node, its idle accelerators and host included, x PUE",
    "unknown": "calls written to the ledger before it kept the regime",
}
RANGES = ("_low/_high are sums over the calls of each call's 5th/95th percentile estimate "
          "(errors taken as fully correlated, so the interval is wide rather than narrow).")


def _iso(ts: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


def _round(x: float) -> float:
    """Six significant figures: enough for a disclosure, no float noise."""
    return float(f"{x:.6g}")


def regime_shares(data: Data, team: str | None = None) -> dict[str, float]:
    """Each serving regime's share of the facility energy of `team` (all teams if None),
    largest first; rows written before the ledger kept the regime are "unknown"."""
    wh: dict[str, float] = {}
    for t, by in data.regimes.items():
        if team is None or t == team:
            for regime, e in by.items():
                key = regime or "unknown"
                wh[key] = wh.get(key, 0.0) + e
    total = sum(wh.values())
    if total <= 0:
        return {k: 0.0 for k in sorted(wh)}
    return {k: round(v / total, 4) for k, v in sorted(wh.items(), key=lambda kv: -kv[1])}


def records(data: Data, tz: tzinfo) -> list[dict[str, Any]]:
    """One record per team for the period of `data` (amounts in kWh, kg, L)."""
    out = []
    zones_of: dict[str, set[str]] = {}
    for (team, _provider), zones in data.zones.items():
        zones_of.setdefault(team, set()).update(zones)
    for team in data.teams:
        s: Sums = data.by_team[team]
        market = data.has_market
        out.append({
            "team": team, "period_start": _iso(data.since, tz),
            "period_end": _iso(data.until, tz), "calls": int(s["calls"]),
            "energy_kwh": _round(s["energy_wh"] / 1000),
            "co2e_location_kg": _round(s["co2e_g"] / 1000),
            "co2e_location_kg_low": _round(s["co2e_g_low"] / 1000),
            "co2e_location_kg_high": _round(s["co2e_g_high"] / 1000),
            "co2e_market_kg": _round(s["co2e_market_g"] / 1000) if market else None,
            "co2e_market_kg_low": _round(s["co2e_market_g_low"] / 1000) if market else None,
            "co2e_market_kg_high": _round(s["co2e_market_g_high"] / 1000) if market else None,
            "co2e_embodied_kg": _round(s["co2e_embodied_g"] / 1000),
            "co2e_embodied_kg_low": _round(s["co2e_embodied_g_low"] / 1000),
            "co2e_embodied_kg_high": _round(s["co2e_embodied_g_high"] / 1000),
            "water_l": _round(s["water_ml"] / 1000),
            "water_l_low": _round(s["water_ml_low"] / 1000),
            "water_l_high": _round(s["water_ml_high"] / 1000),
            "adpe_kg_sb_eq": _round(s["adpe_kgsbeq"]),
            "grid_zones": sorted(zones_of.get(team, ())),
            "method_versions": sorted(data.method_versions),
            "scope3_category": "1 (purchased goods and services)",
            "esrs": "E1-6 (gross Scope 3 GHG emissions), E1-5 (energy consumption)",
            "regimes": regime_shares(data, team),
        })
    return out


def sources(data: Data) -> list[dict[str, Any]]:
    """The emission factors used: zone, gCO2e/kWh, basis, source and year."""
    from ..estimate._grid import zone_intensity

    out: list[dict[str, Any]] = []
    for zone in sorted({z for zones in data.zones.values() for z in zones}):
        try:
            z = zone_intensity(zone)
        except ValueError:
            out.append({"zone": zone, "gco2e_per_kwh": None, "basis": "given by the caller",
                        "source": "grid_intensity given by the caller or the configuration",
                        "year": None})
            continue
        out.append({"zone": z.zone, "gco2e_per_kwh": z.gco2e_per_kwh, "basis": z.basis,
                    "source": z.source, "year": z.year})
    return out


def export_json(data: Data, tz: tzinfo) -> str:
    """The export as one JSON document (schema `SCHEMA`)."""
    doc = {
        "schema": SCHEMA, "wattmeter_version": __version__, "method_version": METHOD_VERSION,
        "period": {"start": _iso(data.since, tz), "end": _iso(data.until, tz)},
        "market_based": "recorded" if data.has_market else "not recorded",
        # location-based CO2e of older rows counted in the market-based figures (their own
        # was not recorded): the GHG Protocol's grid-average fallback
        "market_based_standin_kg": round(data.market_standin_g / 1000.0, 9),
        "boundary": BOUNDARY, "ranges": RANGES, "sources": sources(data),
        "regimes": {k: v for k, v in REGIMES.items()
                    if any(k in r for r in data.regimes.values())
                    or (k == "unknown" and any("" in r for r in data.regimes.values()))},
        "records": records(data, tz),
    }
    return json.dumps(doc, indent=2)  # \u-escapes: no C1 or bidi control reaches a terminal


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return decimal(value)
    return value


def export_csv(data: Data, tz: tzinfo) -> str:
    """The export as CSV: a header of `COLUMNS`, one row per team, lists joined by "; ",
    market-based cells empty when not recorded, text cells safe from formula injection."""
    year_of = {s["zone"]: s["year"] for s in sources(data)}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for rec in records(data, tz):
        rec["grid_zones"] = "; ".join(f"{z} ({year_of.get(z) or 'caller'})"
                                      for z in rec["grid_zones"])
        rec["method_versions"] = "; ".join(rec["method_versions"])
        rec["regimes"] = "; ".join(f"{k} {v:.0%}" for k, v in rec["regimes"].items())
        writer.writerow([for_csv(_cell(rec[c])) for c in COLUMNS])
    return buf.getvalue()
