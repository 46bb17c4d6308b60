"""``wattmeter report``: consumption from the SQLite ledger per team, model or period.

The ledger is written whenever budgets are configured (or ``ledger_always`` is set),
and by ``wattmeter demo``; the report groups its per-minute rows as asked and prints a
table, CSV or JSON. ``--disclosure`` prints what a GHG Protocol scope 3 / CSRD line needs
per team and period: energy, usage and embodied CO2e with their ranges, the location-based
emission factor with its source and year, water, and the method version. ``--html OUT``
writes the self-contained HTML report and ``--export csrd`` the CSRD/GHG records
(`wattmeter.report`). Names from the ledger are printed through `_safe_text`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import time
from datetime import datetime, timedelta
from typing import Any

from .._numbers import plain
from .._safe_text import for_csv, for_terminal, lines_for_terminal

__all__ = ["HELP", "NAME", "add_arguments", "period_bounds", "run"]

NAME = "report"
HELP = "report energy and CO2e from the ledger per team / model / period (table, CSV, JSON)"

_PERIODS = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 31 * 86400}
_COLUMNS = ("calls", "energy_wh", "co2e_g", "accelerator_wh", "input_tokens", "output_tokens")
#: Life-cycle columns (CSV/JSON), after the ones above so older readers keep their order.
_LIFE_COLUMNS = ("co2e_g_low", "co2e_g_high", "co2e_embodied_g", "co2e_embodied_g_low",
                 "co2e_embodied_g_high", "co2e_total_g", "co2e_total_g_low",
                 "co2e_total_g_high", "water_ml", "water_ml_low", "water_ml_high",
                 "adpe_kgsbeq", "ef_gco2e_per_kwh", "ef_basis", "grid_zones", "ef_sources",
                 "method_versions", "co2e_market_g", "co2e_market_g_low",
                 "co2e_market_g_high", "ef_market_gco2e_per_kwh", "regimes")
#: Market-based CO2e: present in ledgers written once wattmeter records it; "" before.
_MARKET = ("co2e_market_g", "co2e_market_g_low", "co2e_market_g_high")


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
    parser.add_argument("--period", metavar="PERIOD",
                        help="a calendar period: 2026, 2026-Q4, 2026-11 or 2026-11-05 "
                             "(instead of --since/--until)")
    parser.add_argument("--html", metavar="OUT",
                        help="write the self-contained HTML report (charts, ranges, "
                             "budgets, what each team could change, method) to OUT")
    parser.add_argument("--export", choices=("csrd",),
                        help="print the CSRD (ESRS E1) / GHG Scope 3 Category 1 records per "
                             "team for the period (--format csv or json; docs/reports.md)")
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


def period_bounds(text: str, tz: Any) -> tuple[float, float]:
    """[start, end) of a calendar period "2026", "2026-Q4", "2026-11" or "2026-11-05"."""
    import re

    m = re.fullmatch(r"(\d{4})(?:-(?:Q([1-4])|(\d{2}))(?:-(\d{2}))?)?", text.strip())
    try:
        if m is None or (m.group(2) and m.group(4)):
            raise ValueError
        year, quarter, month, day = (int(g) if g else None for g in m.groups())
        assert year is not None
        if day is not None:
            start = datetime(year, month or 1, day, tzinfo=tz)
            end = start + timedelta(days=1)
        elif month is not None or quarter is not None:
            first = month if month is not None else 3 * (quarter or 1) - 2
            months = 1 if month is not None else 3
            start = datetime(year, first, 1, tzinfo=tz)
            y, mo = divmod(first - 1 + months, 12)
            end = datetime(year + y, mo + 1, 1, tzinfo=tz)
        else:
            start, end = datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)
    except ValueError:
        raise ValueError(f"--period: got {text!r}; expected a year (2026), a quarter "
                         "(2026-Q4), a month (2026-11) or a day (2026-11-05)") from None
    return start.timestamp(), end.timestamp()


def _ledger_path(args: argparse.Namespace, configured: str) -> str | None:
    """The ledger to read: --ledger, else the configured one, else the demo's (with a note)."""
    if args.ledger:
        return str(args.ledger)
    if os.path.exists(configured):
        return configured
    from ._demo import DEMO_LEDGER

    if os.path.exists(DEMO_LEDGER):
        print(f"note: no ledger at {configured}; reading the demo's {DEMO_LEDGER}",
              file=sys.stderr)
        return DEMO_LEDGER
    return None


def _out(text: str) -> None:
    """Write a CSV or JSON document to stdout; on a terminal, without the escape sequences
    and control characters a caller-chosen name could carry (a file gets it byte for byte)."""
    sys.stdout.write(lines_for_terminal(text) if sys.stdout.isatty() else text)


def run(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from .. import _config
    from ..budget import Ledger
    from ..budget._ledger import GROUP_KEYS

    cfg = _config.current()
    tz = ZoneInfo(cfg.timezone)
    by = args.by
    if getattr(args, "disclosure", False) and by == "team,model":  # --by left at its default
        by = "team,month"
    group_by = [k.strip() for k in by.split(",") if k.strip()]
    for key in group_by:
        if key not in GROUP_KEYS and not key.startswith("label:"):
            raise ValueError(f"--by: got {key!r}; expected any of {', '.join(GROUP_KEYS)} "
                             "or label:<name>")
    since, until = _when(args.since, "--since"), _when(args.until, "--until")
    if getattr(args, "period", None):
        if args.since or args.until or args.last:
            raise ValueError("--period: give either --period or --since/--until/--last")
        since, until = period_bounds(args.period, tz)
    if args.last:
        since = time.time() - _PERIODS[args.last]
    html_out = getattr(args, "html", None)
    if html_out:
        _check_output(html_out)
    path = _ledger_path(args, cfg.ledger_path)
    if path is None or not os.path.exists(path):
        from ._demo import DEMO_LEDGER

        named = "--ledger: " if args.ledger else ""
        print(f"wattmeter report: {named}no ledger at {path or cfg.ledger_path}. Give the "
              "file a ledger was written to with --ledger, configure budgets or set "
              "ledger_always = true, or run `wattmeter demo` and then `wattmeter report "
              f"--ledger {DEMO_LEDGER}`.", file=sys.stderr)
        # a file named by --ledger is bad input (2); no ledger anywhere is nothing to
        # report yet (1, like `wattmeter budgets` with none configured)
        return 2 if args.ledger else 1
    if html_out or getattr(args, "export", None):
        return _document(args, path, since, until, tz, html_out)
    rows = Ledger(path).totals(since, until, group_by=group_by, tz=tz,
                               where={"team": args.team} if args.team else None)
    rows = [_disclose(r) for r in rows]
    if args.format == "json":
        print(json.dumps(rows, indent=2, default=str))
    elif args.format == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=[*group_by, *_COLUMNS, *_LIFE_COLUMNS],
                                extrasaction="ignore", lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({k: for_csv("; ".join(v) if isinstance(v, list) else v)
                          for k, v in r.items()} for r in rows)
        _out(buf.getvalue())
    elif getattr(args, "disclosure", False):
        _disclosure_table(rows, group_by)
    else:
        _table(rows, group_by)
    return 0


def _check_output(path: str) -> None:
    """Fail before any work when the HTML report can't be written at `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"--html: {path!r} is a folder; give a file name such as report.html")
    if not os.path.isdir(folder):
        raise ValueError(f"--html: the folder {folder!r} does not exist; create it or give "
                         "another path")
    if not os.access(folder, os.W_OK) or (os.path.exists(path)
                                          and not os.access(path, os.W_OK)):
        raise ValueError(f"--html: can't write {path!r} (permission denied); give a "
                         "writable path")


def _document(args: argparse.Namespace, path: str, since: float | None,
              until: float | None, tz: Any, html_out: str | None) -> int:
    """`--html OUT` and `--export csrd`: both read the ledger once through `report.load`."""
    from .. import report

    data = report.load(path, since, until, tz, team=args.team)
    if getattr(args, "export", None):
        from ..report._export import export_csv, export_json

        _out(export_json(data, tz) + "\n" if args.format == "json" else export_csv(data, tz))
    if html_out:
        try:
            text = report.html(data, tz, path, team=args.team)
        except ModuleNotFoundError as exc:
            raise ValueError(f"--html: needs {exc.name}; install it with "
                             "pip install 'wattmeter[report]'") from None
        try:
            with open(html_out, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise ValueError(f"--html: can't write {html_out!r} ({exc.strerror}); give a "
                             "writable path") from None
        print(f"wrote {html_out} ({len(text) // 1024:,} KiB): open it in a browser",
              file=sys.stderr)
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
    if not any(r.get(k) for k in _MARKET):  # an older ledger: not recorded (None in JSON)
        r.update(dict.fromkeys((*_MARKET, "ef_market_gco2e_per_kwh")))
    return r


def _disclosure_table(rows: list[dict[str, Any]], group_by: list[str]) -> None:
    head = [k.upper() for k in group_by] + [
        "CALLS", "ENERGY (kWh)", "CO2e USAGE (kg)", "p5-p95", "CO2e EMBODIED (kg)", "p5-p95",
        "CO2e TOTAL (kg)", "CO2e MARKET (kg)", "EF (gCO2e/kWh)", "WATER (L)",
        "ADPe (g Sb eq)", "ZONES"]
    def kg(g: float) -> str:
        return plain(g / 1000, 4)

    body = [[for_terminal(r[k]) for k in group_by] + [
        str(r["calls"]), plain(r["energy_wh"] / 1000, 4), kg(r["co2e_g"]),
        f"{kg(r['co2e_g_low'])}-{kg(r['co2e_g_high'])}", kg(r["co2e_embodied_g"]),
        f"{kg(r['co2e_embodied_g_low'])}-{kg(r['co2e_embodied_g_high'])}",
        kg(r["co2e_total_g"]),
        "not recorded" if r["co2e_market_g"] is None else kg(r["co2e_market_g"]),
        f"{r['ef_gco2e_per_kwh']:.0f}", plain(r["water_ml"] / 1000, 4),
        plain(r["adpe_kgsbeq"] * 1000, 3), for_terminal(", ".join(r["grid_zones"])) or "-"]
        for r in rows]
    _print(head, body, len(group_by), len(head) - 1)
    zones = sorted({z for r in rows for z in r["grid_zones"]})
    versions = sorted({v for r in rows for v in r["method_versions"]})
    print("\nCO2e usage: electricity of the calls (facility energy x location-based factor); "
          "embodied: hardware\nmanufacturing amortised over the servers' life (cradle to "
          "gate); total = both. Ranges: sums of\nthe calls' 5th/95th percentiles. Water: "
          "on-site plus electricity generation, consumption.")
    for z in zones:
        print(f"emission factor  {for_terminal(_source(z))}")
    method = for_terminal(", ".join(versions)) or ("not recorded (rows older than the "
                                                   "life-cycle columns)")
    print(f"method           {method}; docs/methodology.md")
    regimes = sorted({v for r in rows for v in r.get("regimes", [])})
    print(f"serving regimes  {for_terminal(', '.join(regimes)) or 'unknown (older rows)'}; "
          "docs/regimes.md (what each one's energy counts)")


def _table(rows: list[dict[str, Any]], group_by: list[str]) -> None:
    """Team/model/... rows with energy and CO2e to three significant figures and one
    equivalent unit for the whole table (chosen from its total)."""
    from .._equivalents import express, pick

    total_wh = sum(r["energy_wh"] for r in rows)
    total_g = sum(r["co2e_g"] for r in rows)
    eq = pick(total_wh, total_g)
    head = [k.upper() for k in group_by] + ["CALLS", "ENERGY (Wh)", "CO2e (g)", "EQUIVALENT"]
    body = [[for_terminal(r[k]) for k in group_by] + [
        str(r["calls"]), plain(r["energy_wh"]), plain(r["co2e_g"]),
        express(eq, r["energy_wh"], r["co2e_g"])] for r in rows]
    body.append(["TOTAL"] + [""] * (len(group_by) - 1) + [
        str(sum(r["calls"] for r in rows)), plain(total_wh), plain(total_g),
        express(eq, total_wh, total_g)])
    _print(head, body, len(group_by), len(group_by) + 3)


def _print(head: list[str], body: list[list[str]], first: int, end: int) -> None:
    """Columns first..end-1 right-aligned (numbers), the rest left-aligned."""
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    for line in [head, *body]:
        print("  ".join(v.rjust(w) if first <= i < end else v.ljust(w)
                        for i, (v, w) in enumerate(zip(line, widths, strict=True))).rstrip())

