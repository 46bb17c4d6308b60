"""The one exception wattmeter raises on purpose."""

from __future__ import annotations

__all__ = ["BudgetExceededError"]


class BudgetExceededError(RuntimeError):
    """A call was refused before it was sent because a budget with the ``raise`` action is spent.

    Attributes name the budget's team, its limit and use, so callers can degrade gracefully.
    """

    def __init__(self, message: str, *, team: str = "", budget: object = None,
                 used: float = 0.0, limit: float = 0.0, unit: str = "Wh") -> None:
        super().__init__(message)
        self.team = team
        self.budget = budget
        self.used = used
        self.limit = limit
        self.unit = unit
