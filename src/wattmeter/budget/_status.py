"""A budget's standing at one moment: used, ratio, remaining, forecast, period end.

Shared by the manager (gauges, events) and the ``wattmeter budgets`` command, so both
report the same numbers.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, NamedTuple

from ._budget import Budget
from ._units import ENERGY

__all__ = ["BudgetStatus", "forecast", "status_of", "to_base"]

#: Shortest elapsed share of a calendar period used to extrapolate, so the first minutes
#: of a month do not forecast wild multiples.
_MIN_ELAPSED_SHARE = 0.01
_MIN_ELAPSED_S = 60.0


def forecast(budget: Budget, used: float, start: float, end: float, now: float) -> float:
    """Use expected at the end of the period if the pace so far continues (linear).

    A rolling window always ends now, so at a steady pace its use stays where it is.
    """
    if budget.period.rolling:
        return used
    length = end - start
    elapsed = max(now - start, length * _MIN_ELAPSED_SHARE, _MIN_ELAPSED_S)
    if elapsed >= length:
        return used
    return used * length / elapsed


def to_base(budget: Budget, amount: float) -> tuple[str, float]:
    """(Prometheus unit, value) of an amount in the budget's unit: joules or grams."""
    if budget.metric == ENERGY:
        return "joules", amount * 3600.0
    return "grams", amount


class BudgetStatus(NamedTuple):
    """Where one budget stands (amounts in its unit, Wh or gCO2e)."""

    name: str
    team: str
    metric: str
    unit: str
    limit: float
    used: float
    ratio: float
    remaining: float
    forecast: float
    period: str
    period_start: float
    period_end: float | None
    verified: bool
    source: str

    def to_dict(self, tz: tzinfo | None = None) -> dict[str, Any]:
        """JSON-ready form with ISO-8601 period bounds."""
        d = self._asdict()
        d["period_start_iso"] = _iso(self.period_start, tz)
        d["period_end_iso"] = _iso(self.period_end, tz) if self.period_end else None
        return d


def _iso(ts: float, tz: tzinfo | None) -> str:
    from datetime import timezone

    return datetime.fromtimestamp(ts, tz or timezone.utc).isoformat(timespec="seconds")


def status_of(budget: Budget, used: float, start: float, end: float, now: float, *,
              verified: bool = True, source: str = "sqlite") -> BudgetStatus:
    """The `BudgetStatus` of `budget` having used `used` in the period [start, end)."""
    return BudgetStatus(
        budget.name, budget.team, budget.metric, budget.unit, budget.limit, used,
        used / budget.limit, max(budget.limit - used, 0.0),
        forecast(budget, used, start, end, now), budget.period.text, start,
        None if budget.period.rolling else end, verified, source)
