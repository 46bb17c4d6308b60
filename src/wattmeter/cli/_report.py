"""``wattmeter report``: consumption from the SQLite ledger per team, model or period.

The ledger is written whenever budgets are configured (or ``ledger_always`` is set),
and by ``wattmeter demo``; the report groups its per-minute rows as asked and prints a
table, CSV or JSON.
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
    group_by = [k.strip() for k in args.by.split(",") if k.strip()]
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
    if args.format == "json":
        print(json.dumps(rows, indent=2, default=str))
    elif args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=[*group_by, *_COLUMNS],
                                extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        _table(rows, group_by)
    return 0


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
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    n = len(group_by)
    for line in [head, *body]:
        print("  ".join(v.rjust(w) if n <= i < n + 3 else v.ljust(w)
                        for i, (v, w) in enumerate(zip(line, widths, strict=True))).rstrip())

