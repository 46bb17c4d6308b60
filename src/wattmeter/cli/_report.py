"""``wattmeter report``: consumption from the SQLite ledger per team, model or period.

The ledger is written whenever budgets are configured (or ``ledger_always`` is set),
and by ``wattmeter demo``; the report groups its per-minute rows as asked and prints a
table, CSV or JSON. ``--disclosure`` prints what a GHG Protocol scope 3 / CSRD line needs
per team and period: energy, usage and embodied CO2e with their ranges, the location-based
emission factor with its source and year, water, and the method version.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from datetime import datetime
from typing import Any

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "report"
HELP = "report energy and CO2e from the ledger per team / model / period (table, CSV, JSON)"

_PERIODS = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 31 * 86400}
_COLUMNS = ("calls", "energy_wh", "co2e_g", "accelerator_wh", "input_tokens", "output_tokens")
#: Life-cycle columns (CSV/JSON), after the ones above so older readers keep their order.
_LIFE_COLUMNS = ("co2e_g_low", "co2e_g_high", "co2e_embodied_g", "co2e_embodied_g_low",
                 "co2e_embodied_g_high", "co2e_total_g", "co2e_total_g_low",
                 "co2e_total_g_high", "water_ml", "water_ml_low", "water_ml_high",
                 "adpe_kgsbeq", "ef_gco2e_per_kwh", "ef_basis", "grid_zones", "ef_sources",
                 "method_versions")
#: Market-based CO2e (GHG Protocol Scope 2; docs/grid.md), last for the same reason.
_MARKET_COLUMNS = ("co2e_market_g", "co2e_market_g_low", "co2e_market_g_high",
                   "ef_market_gco2e_per_kwh")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ledger", metavar="PATH",
                        help="SQLite ledger file (default: the ledger_path option)")
    parser.add_argument("--by", default="team,model",
                        help="comma-separated grouping: team, provider, model, operation, "
                             "label:<name>, hour, day, week, month (default: %(default)s)")
    parser.add_argument("--last", choices=sorted(_PERIODS), metavar="PERIOD",
                        help="only the last hour/day/week/month")
    parser.add_argument("--since", metavar="DATE", help="from this ISO date/time (inclusive)")
    parser.add_argument("--until", metavar="DATE", help="until this ISO date/time (exclusive)")
    parser.add_argument("--team", help="only this team")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table",
                        help="output format (default: table)")
    parser.add_argument("--disclosure", action="store_true",
                        help="scope 3 / CSRD view: per team and month (unless --by is given) "
                             "energy, CO2e usage and embodied with p5-p95, location-based "
                             "emission factor with source and year, water, method version")


def _when(text: str | None, field: str) -> float | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise ValueError(f"{field}: got {text!r}; expected an ISO date such as 2026-11-01 "
                         "or 2026-11-01T12:00") from None


def run(args: argparse.Namespace) -> int:
    from .. import _config
    from ..budget import Ledger
    from ..budget._ledger import GROUP_KEYS

    cfg = _config.current()
    path = args.ledger or cfg.ledger_path
    by = args.by
    if getattr(args, "disclosure", False) and by == "team,model":  # --by left at its default
        by = "team,month"
    group_by = [k.strip() for k in by.split(",") if k.strip()]
    for key in group_by:
        if key not in GROUP_KEYS and not key.startswith("label:"):
            raise ValueError(f"--by: got {key!r}; expected any of {', '.join(GROUP_KEYS)} "
                             "or label:<name>")
    since, until = _when(args.since, "--since"), _when(args.until, "--until")
    if args.last:
        since = time.time() - _PERIODS[args.last]
    if not os.path.exists(path):
        print(f"wattmeter report: no ledger at {path}. Configure budgets or set "
              "ledger_always = true, or run `wattmeter demo`.", file=sys.stderr)
        return 1
    from zoneinfo import ZoneInfo

    rows = Ledger(path).totals(since, until, group_by=group_by, tz=ZoneInfo(cfg.timezone),
                               where={"team": args.team} if args.team else None)
    rows = [_disclose(r) for r in rows]
    if args.format == "json":
        print(json.dumps(rows, indent=2, default=str))
    elif args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=[*group_by, *_COLUMNS, *_LIFE_COLUMNS,
                                                         *_MARKET_COLUMNS],
                                extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "; ".join(v) if isinstance(v, list) else v for k, v in r.items()}
                         for r in rows)
    elif getattr(args, "disclosure", False):
        _disclosure_table(rows, group_by)
    else:
        _table(rows, group_by)
    return 0


_sources: dict[str, str] = {}


def _source(zone: str) -> str:
    """"ZONE: source (year)" of a zone's location-based emission factor (grid.json)."""
    text = _sources.get(zone)
    if text is None:
        from ..estimate._grid import zone_intensity

        try:
            z = zone_intensity(zone)
            text = f"{z.zone}: {z.gco2e_per_kwh:g} gCO2e/kWh, {z.basis}, {z.source} ({z.year})"
        except ValueError:
            text = (f"{zone}: intensity given by the caller or the configuration "
                    "(grid_intensity), not from wattmeter's table")
        _sources[zone] = text
    return text


def _disclose(r: dict[str, Any]) -> dict[str, Any]:
    """A ledger group plus the derived disclosure fields (total CO2e, emission factor and
    its sources). Rows written before the life-cycle columns carry zeros there."""
    r["co2e_total_g"] = r["co2e_g"] + r.get("co2e_embodied_g", 0.0)
    r["co2e_total_g_low"] = r.get("co2e_g_low", 0.0) + r.get("co2e_embodied_g_low", 0.0)
    r["co2e_total_g_high"] = r.get("co2e_g_high", 0.0) + r.get("co2e_embodied_g_high", 0.0)
    # energy-weighted location-based factor of the group (live values, when on, included)
    r["ef_gco2e_per_kwh"] = r["co2e_g"] / r["energy_wh"] * 1000.0 if r["energy_wh"] else 0.0
    r["ef_basis"] = "location-based"
    # market-based beside it (0 for rows written before the market-based columns)
    market = r.get("co2e_market_g", 0.0)
    r["ef_market_gco2e_per_kwh"] = market / r["energy_wh"] * 1000.0 if r["energy_wh"] else 0.0
    r["ef_sources"] = [_source(z) for z in r.get("grid_zones", [])]
    return r


def _disclosure_table(rows: list[dict[str, Any]], group_by: list[str]) -> None:
    head = [k.upper() for k in group_by] + [
        "CALLS", "ENERGY (kWh)", "CO2e USAGE (kg)", "p5-p95", "CO2e EMBODIED (kg)", "p5-p95",
        "CO2e TOTAL (kg)", "EF (gCO2e/kWh)", "WATER (L)", "ADPe (g Sb eq)", "ZONES"]
    def kg(g: float) -> str:
        return f"{g / 1000:.4g}"

    body = [[str(r[k]) for k in group_by] + [
        str(r["calls"]), f"{r['energy_wh'] / 1000:.4g}", kg(r["co2e_g"]),
        f"{kg(r['co2e_g_low'])}-{kg(r['co2e_g_high'])}", kg(r["co2e_embodied_g"]),
        f"{kg(r['co2e_embodied_g_low'])}-{kg(r['co2e_embodied_g_high'])}",
        kg(r["co2e_total_g"]), f"{r['ef_gco2e_per_kwh']:.0f}", f"{r['water_ml'] / 1000:.4g}",
        f"{r['adpe_kgsbeq'] * 1000:.3g}", ", ".join(r["grid_zones"]) or "-"] for r in rows]
    _print(head, body, len(group_by), len(head) - 1)
    zones = sorted({z for r in rows for z in r["grid_zones"]})
    versions = sorted({v for r in rows for v in r["method_versions"]})
    print("\nCO2e usage: electricity of the calls (facility energy x location-based factor); "
          "embodied: hardware\nmanufacturing amortised over the servers' life (cradle to "
          "gate); total = both. Ranges: sums of\nthe calls' 5th/95th percentiles. Water: "
          "on-site plus electricity generation, consumption.")
    for z in zones:
        print(f"emission factor  {_source(z)}")
    print(f"method           {', '.join(versions) or 'not recorded (rows older than the '}"
          + ("" if versions else "life-cycle columns)") + "; docs/methodology.md")


def _table(rows: list[dict[str, Any]], group_by: list[str]) -> None:
    from .._equivalents import describe

    head = [k.upper() for k in group_by] + ["CALLS", "ENERGY (Wh)", "CO2e (g)", "EQUIVALENT"]
    body = [[str(r[k]) for k in group_by] + [
        str(r["calls"]), f"{r['energy_wh']:,.3f}", f"{r['co2e_g']:,.2f}",
        describe(r["energy_wh"], r["co2e_g"])] for r in rows]
    total_wh = sum(r["energy_wh"] for r in rows)
    total_g = sum(r["co2e_g"] for r in rows)
    body.append(["TOTAL"] + [""] * (len(group_by) - 1) + [
        str(sum(r["calls"] for r in rows)), f"{total_wh:,.3f}", f"{total_g:,.2f}",
        describe(total_wh, total_g)])
    _print(head, body, len(group_by), len(group_by) + 3)


def _print(head: list[str], body: list[list[str]], first: int, end: int) -> None:
    """Columns first..end-1 right-aligned (numbers), the rest left-aligned."""
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    for line in [head, *body]:
        print("  ".join(v.rjust(w) if first <= i < end else v.ljust(w)
                        for i, (v, w) in enumerate(zip(line, widths, strict=True))).rstrip())

