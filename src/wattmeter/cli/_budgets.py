"""``wattmeter budgets``: each configured budget's use, share, forecast and period end.

Use is read from the SQLite ledger (this host) or, with ``--prometheus``, from the
fleet's counters in Prometheus; budgets come from the usual configuration sources.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from .. import _numbers as num
from .._safe_text import for_terminal

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "budgets"
HELP = "Show each budget's status: used, %, forecast, period end (ledger or Prometheus)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wattmeter budgets``."""
    parser.add_argument("--ledger", metavar="PATH",
                        help="SQLite ledger file (default: the ledger_path option)")
    parser.add_argument("--prometheus", metavar="URL",
                        help="read fleet use from this Prometheus (default: the "
                             "prometheus_url option when ledger = 'prometheus')")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    """Print the status of every configured budget."""
    from zoneinfo import ZoneInfo

    from .. import _config
    from ..budget import FleetSource, Ledger
    from ..budget._fleet import FleetError, budget_supported
    from ..budget._status import status_of
    from ..budget._units import ENERGY
    from ._report import _ledger_path

    cfg = _config.current()
    budgets = cfg.budgets
    # configured budgets read their own ledger (none yet: nothing used); the demo's ledger
    # stands in only when nothing is configured, with its saved budgets
    path = (str(args.ledger or cfg.ledger_path) if budgets
            else _ledger_path(args, cfg.ledger_path) or cfg.ledger_path)
    if not budgets and os.path.exists(path):
        # None configured here: show the budgets in force when the ledger was written
        # (e.g. by `wattmeter demo`).
        from ..budget import parse_budgets

        budgets = parse_budgets(Ledger(path).saved_budgets())
        if budgets:
            print(f"note: no budgets configured; showing those saved in {path}",
                  file=sys.stderr)
    if not budgets:
        print("No budgets configured. Add [[budgets]] tables to wattmeter.toml (or "
              "[[tool.wattmeter.budgets]] in pyproject.toml), WATTMETER_BUDGETS as JSON, "
              "or wattmeter.configure(budgets=[...]).", file=sys.stderr)
        return 1
    tz = ZoneInfo(cfg.timezone)
    url = args.prometheus or (cfg.prometheus_url if cfg.ledger == "prometheus" else None)
    fleet = FleetSource(url, timeout_s=cfg.fleet_timeout_s) if url else None
    ledger = Ledger(path) if os.path.exists(path) else None
    if ledger is None and fleet is None:
        print(f"note: no ledger file at {path}; showing zero use", file=sys.stderr)
    now = time.time()
    rows: list[Any] = []
    for b in budgets:
        start, end = b.period.bounds(now, tz)
        used, source, verified = 0.0, "sqlite", True
        if fleet is not None and budget_supported(b):
            try:
                used, source = fleet.used(b, start, now), "prometheus"
            except FleetError as exc:
                print(f"warning: {for_terminal(b.name)}: {for_terminal(exc)}; falling back "
                      "to the local ledger",
                      file=sys.stderr)
                verified = False
        if source == "sqlite" and ledger is not None:
            used = ledger.used(b.team, start, end + 60 if b.period.rolling else end,
                               metric="energy_wh" if b.metric == ENERGY else "co2e_g",
                               provider=b.provider, model=b.model, operation=b.operation,
                               labels=b.labels)
        rows.append(status_of(b, used, start, end, now, verified=verified, source=source))
    if args.json:
        print(json.dumps([s.to_dict(tz) for s in rows], indent=2))
        return 0
    table = [("BUDGET", "TEAM", "USED", "LIMIT", "USED %", "FORECAST", "PERIOD", "ENDS",
              "SOURCE")]
    for s in rows:
        d = s.to_dict(tz)
        amount = _energy if s.metric == ENERGY else _co2e
        table.append((for_terminal(s.name), for_terminal(s.team), amount(s.used),
                      amount(s.limit), f"{s.ratio * 100:.1f}%", amount(s.forecast), s.period,
                      d["period_end_iso"] or "(rolling)",
                      s.source + ("" if s.verified else " (fallback)")))
    widths = [max(len(str(r[i])) for r in table) for i in range(len(table[0]))]
    for r in table:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    return 0


def _energy(wh: float) -> str:
    return num.energy(wh)


def _co2e(g: float) -> str:
    return num.mass(g, suffix="CO2e")
