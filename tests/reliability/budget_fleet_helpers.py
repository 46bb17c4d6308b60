"""Footprints of known size for the reliability probes of budgets and the ledger."""

from __future__ import annotations

from collections.abc import Mapping

from wattmeter._footprint import EMPTY_LABELS, Footprint

__all__ = ["footprint"]


def footprint(team: str = "search", wh: float = 0.01, tokens: int = 10,
              labels: Mapping[str, str] = EMPTY_LABELS, model: str = "gpt-4o") -> Footprint:
    """A footprint of exactly `wh` watt-hours (0.4 g CO2e per Wh)."""
    c = wh * 0.4
    return Footprint("openai", model, "chat", team, labels, tokens, tokens, 0, 0,
                     wh, wh, wh, wh / 2, wh / 2, wh / 2, wh, wh, wh, c, c, c, "WORLD",
                     400.0, 1.2)
