"""The budgets a report shows: those configured here, else those saved in the ledger by
the process that wrote it, each with its use, limit and forecast read from the ledger."""

from __future__ import annotations

import time
from datetime import tzinfo
from typing import Any

__all__ = ["statuses"]


def statuses(path: str, tz: tzinfo, team: str | None = None,
             now: float | None = None) -> list[Any]:
    """`BudgetStatus` of each budget (of `team` if given) for its current period."""
    from .. import _config
    from ..budget import Ledger, parse_budgets
    from ..budget._status import status_of
    from ..budget._units import ENERGY

    budgets = list(_config.current().budgets)
    ledger = Ledger(path)
    try:
        if not budgets:
            budgets = list(parse_budgets(ledger.saved_budgets()))
        now = time.time() if now is None else now
        out = []
        for b in budgets:
            if team is not None and b.team != team:
                continue
            start, end = b.period.bounds(now, tz)
            used = ledger.used(b.team, start, end + 60 if b.period.rolling else end,
                               metric="energy_wh" if b.metric == ENERGY else "co2e_g",
                               provider=b.provider, model=b.model, operation=b.operation,
                               labels=b.labels)
            out.append(status_of(b, used, start, end, now))
        return out
    finally:
        ledger.close()
