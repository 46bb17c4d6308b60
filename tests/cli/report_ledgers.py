"""Ledgers for the report tests: rows priced by wattmeter.estimate(), as the meter writes them."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import wattmeter
from wattmeter._version import METHOD_VERSION
from wattmeter.budget import Ledger

#: (team, provider, model, input tokens, output tokens, calls, minutes ago)
Use = tuple[str, str, str, int, int, int, int]

DEFAULT: tuple[Use, ...] = (
    ("search", "openai", "gpt-4o", 400, 80, 30, 5),
    ("search", "openai", "gpt-4o", 400, 80, 20, 65),
    ("research", "openai", "o3", 3000, 1500, 10, 30),
    ("support", "anthropic", "claude-sonnet-4-5", 6000, 300, 12, 90),
    ("support", "bedrock", "nova-lite", 500, 200, 8, 10),
)


def write(path: Path, uses: Iterable[Use] = DEFAULT, now: float | None = None) -> Path:
    """A ledger at `path` with the given calls (one row per use and minute)."""
    ledger = Ledger(path)
    now = time.time() if now is None else now
    for team, provider, model, it, ot, n, ago in uses:
        fp = wattmeter.estimate(model, provider, input_tokens=it, output_tokens=ot)
        bucket = int((now - ago * 60) // 60 * 60)
        ledger.add((bucket, team, provider, model, "chat", {}, fp.energy_wh * n, fp.co2e_g * n,
                    fp.accelerator_wh * n, n, it * n, ot * n, fp.co2e_g_low * n,
                    fp.co2e_g_high * n, fp.co2e_embodied_g * n, fp.co2e_embodied_g_low * n,
                    fp.co2e_embodied_g_high * n, fp.water_ml * n, fp.water_ml_low * n,
                    fp.water_ml_high * n, fp.adpe_kgsbeq * n, fp.grid_zone, METHOD_VERSION))
    ledger.save_budgets([
        {"name": "search-daily", "team": "search", "limit": "50 Wh", "period": "day"},
        {"name": "research-co2e", "team": "research", "limit": "200 gCO2e",
         "period": "month"}])
    ledger.flush()
    ledger.close()
    return path
