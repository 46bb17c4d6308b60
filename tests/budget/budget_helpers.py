"""Shared helpers for the budget tests: a settable clock and footprints of known size."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wattmeter._footprint import EMPTY_LABELS, Footprint


class Clock:
    """A clock the test moves by hand (epoch seconds)."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def fp(team: str = "search", wh: float = 1.0, co2e_g: float | None = None,
       labels: Mapping[str, str] = EMPTY_LABELS, provider: str = "openai",
       model: str = "gpt-4o", operation: str = "chat", tokens: int = 10) -> Footprint:
    """A footprint of exactly `wh` watt-hours (and `co2e_g`, default 0.4 g per Wh)."""
    c = wh * 0.4 if co2e_g is None else co2e_g
    return Footprint(provider, model, operation, team, labels, tokens, tokens, 0, 0,
                     wh, wh, wh, wh / 2, wh / 2, wh / 2, wh, wh, wh, c, c, c, "WORLD",
                     400.0, 1.2)


def manager(tmp_path: Any, budgets: Any, clock: Clock, **options: Any) -> Any:
    """A budget manager with no background thread, on a ledger in `tmp_path`."""
    from wattmeter.budget import BudgetManager

    options.setdefault("ledger_path", str(tmp_path / "ledger.sqlite3"))
    options.setdefault("prometheus", False)
    return BudgetManager(None, clock=clock, background=False, budgets=budgets, **options)
