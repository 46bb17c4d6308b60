"""One pass over the ledger's rows for a period: the sums every part of a report needs.

The HTML report, the CSRD/GHG export and the "what could change" hints all read the same
aggregates (per team over time, per model, per provider, per team and model), so the file
is read once with one query and summed in memory: a 100,000-row ledger takes a fraction
of a second. Rows written before the life-cycle or market-based columns existed read as
zeros, and `Data.has_market` says whether any market-based figure was recorded.
"""

from __future__ import annotations

import math
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from ..budget._ledger import MARKET_STANDIN, UNRECORDED, calls_in

__all__ = ["FIELDS", "SHORT_OUTPUT_TOKENS", "Data", "Sums", "load"]

#: The sums kept per group, in this order (the ledger's column names).
FIELDS = ("calls", "energy_wh", "co2e_g", "co2e_g_low", "co2e_g_high", "co2e_embodied_g",
          "co2e_embodied_g_low", "co2e_embodied_g_high", "water_ml", "water_ml_low",
          "water_ml_high", "adpe_kgsbeq", "input_tokens", "output_tokens", "co2e_market_g",
          "co2e_market_g_low", "co2e_market_g_high")
_IX = {f: i for i, f in enumerate(FIELDS)}
#: A minute's calls of one model whose mean output is below this count as "short outputs"
#: (answers of a sentence or two, classification, extraction: where a smaller model fits).
SHORT_OUTPUT_TOKENS = 300


class Sums:
    """Sums of `FIELDS`, readable by name: ``s["co2e_g"]``."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values = [0.0] * len(FIELDS)

    def add(self, values: Iterable[float]) -> None:
        """Add `values` (in `FIELDS` order; a shorter sequence adds to the first fields)."""
        v = self.values
        for i, x in enumerate(values):
            v[i] += x

    def __iter__(self) -> Iterator[float]:
        return iter(self.values)

    def __getitem__(self, key: str) -> float:
        return self.values[_IX[key]]


@dataclass
class Data:
    """A period's aggregates. Keys are team, provider, model, operation names as stored."""

    since: float
    until: float
    step: str  # "minute", "hour", "day", "week" or "month": the charts' time axis
    total: Sums = field(default_factory=Sums)
    by_time_team: dict[tuple[float, str], Sums] = field(default_factory=dict)
    by_team: dict[str, Sums] = field(default_factory=dict)
    by_model: dict[tuple[str, str], Sums] = field(default_factory=dict)
    by_provider: dict[str, Sums] = field(default_factory=dict)
    #: (team, provider, model, operation) -> all its calls, and those with short outputs
    by_use: dict[tuple[str, str, str, str], tuple[Sums, Sums]] = field(default_factory=dict)
    #: (team, provider) -> {grid zone: location-based CO2e g}
    zones: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    method_versions: set[str] = field(default_factory=set)
    #: team -> {serving regime (docs/regimes.md): facility Wh}; "" for rows written before
    #: the ledger kept it
    regimes: dict[str, dict[str, float]] = field(default_factory=dict)
    has_market: bool = False
    #: location-based CO2e (g) of rows written before the market-based columns, standing
    #: in for their market-based figure when the period has both kinds of rows
    market_standin_g: float = 0.0

    @property
    def teams(self) -> list[str]:
        return sorted(self.by_team)


def _columns(conn: sqlite3.Connection) -> set[str]:
    cols = {r[1] for r in conn.execute("PRAGMA table_info(usage)")}
    if not cols:
        raise ValueError("--ledger: the file is a SQLite database but not a wattmeter ledger "
                         "(no usage table); give the file written by wattmeter")
    return cols


def _step(span_s: float) -> str:
    if span_s <= 3 * 3600:
        return "minute"
    if span_s <= 3 * 86400:
        return "hour"
    if span_s <= 120 * 86400:
        return "day"
    if span_s <= 2 * 366 * 86400:
        return "week"
    return "month"


def _bucket_start(ts: int, step: str, tz: tzinfo) -> float:
    t = datetime.fromtimestamp(ts, tz)
    if step == "minute":
        return float(ts)
    if step == "hour":
        t = t.replace(minute=0, second=0, microsecond=0)
    else:
        t = t.replace(hour=0, minute=0, second=0, microsecond=0)
        if step == "week":
            t -= timedelta(days=t.weekday())
        elif step == "month":
            t = t.replace(day=1)
    return t.timestamp()


def load(path: str, since: float | None, until: float | None, tz: tzinfo,
         team: str | None = None) -> Data:
    """Aggregates of the ledger at `path` for calls in [since, until) (None: unbounded),
    of one team if given. Raises ValueError naming the option when there is nothing."""
    if not os.path.isfile(path):
        raise ValueError(f"--ledger: no ledger file at {path!r}; give the file with --ledger")
    conn = sqlite3.connect(f"file:{os.path.abspath(path)}?mode=ro", uri=True, timeout=10)
    try:
        cols = _columns(conn)
        teams = {r[0] for r in conn.execute("SELECT DISTINCT team FROM usage")}
        if not teams:
            raise ValueError(f"--ledger: {path} holds no calls yet; run the metered "
                             "application (or `wattmeter demo`) first")
        if team is not None and team not in teams:
            raise ValueError(f"--team: no team {team!r} in {path}; teams there: "
                             + ", ".join(sorted(teams)[:20]))
        cond, args = calls_in(since, until, {"team": team} if team is not None else None)
        first, last = conn.execute(f"SELECT MIN(bucket), MAX(bucket) FROM usage WHERE {cond}",
                                   args).fetchone()
        if first is None:
            raise ValueError("--since/--until/--period: no calls in that period"
                             + (f" for team {team!r}" if team else "")
                             + "; widen the period (the ledger has calls of "
                             + ", ".join(sorted(teams)[:20]) + ")")
        last += 60
        lo = since if since is not None else first
        hi = until if until is not None and math.isfinite(until) else last
        data = Data(since=lo, until=hi, step=_step(min(hi, last) - max(lo, first)))
        _query(conn, data, cols, cond, args, tz)
    finally:
        conn.close()
    return data


def _query(conn: sqlite3.Connection, data: Data, cols: set[str], cond: str,
           args: list[Any], tz: tzinfo) -> None:
    """Sum in SQLite (a C loop over the rows), then combine the few groups in Python."""
    expr = {f: f for f in FIELDS if f in cols}
    if set(MARKET_STANDIN) <= cols:
        recorded, standin = conn.execute(
            f"SELECT SUM(co2e_market_g), SUM(CASE WHEN {UNRECORDED} THEN co2e_g ELSE 0 END) "
            f"FROM usage WHERE {cond}", args).fetchone()
        if recorded and standin:  # both kinds of rows: the older ones' location-based
            # figure stands in (the GHG Protocol's last market-based step, grid average)
            data.market_standin_g = float(standin)
            for m, loc in MARKET_STANDIN.items():
                expr[m] = f"CASE WHEN {UNRECORDED} THEN {loc} ELSE {m} END"
    sums = ", ".join(f"SUM({expr[f]})" if f in expr else "0" for f in FIELDS)
    short = f"output_tokens < {SHORT_OUTPUT_TOKENS} * calls"
    zone = "grid_zone" if "grid_zone" in cols else "''"
    version = "method_version" if "method_version" in cols else "''"
    regime = "regime" if "regime" in cols else "''"
    for team, provider, model, operation, is_short, grid, method, how, *values in conn.execute(
            f"SELECT team, provider, model, operation, {short}, {zone}, {version}, {regime}, "
            f"{sums} FROM usage WHERE {cond} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8", args):
        r = data.regimes.setdefault(team, {})
        r[how] = r.get(how, 0.0) + values[1]  # facility energy
        if grid:
            z = data.zones.setdefault((team, provider), {})
            z[grid] = z.get(grid, 0.0) + values[2]  # location-based CO2e
        if method:
            data.method_versions.add(method)
        use = data.by_use.get((team, provider, model, operation))
        if use is None:
            use = data.by_use[(team, provider, model, operation)] = (Sums(), Sums())
        use[0].add(values)
        if is_short:
            use[1].add(values)
        tables: tuple[tuple[dict[Any, Sums], Any], ...] = (
            (data.by_team, team), (data.by_model, (provider, model)),
            (data.by_provider, provider))
        for table, k in tables:
            s = table.get(k)
            if s is None:
                s = table[k] = Sums()
            s.add(values)
        data.total.add(values)
    # hours summed in SQL, hours to days/weeks/months in Python (in `tz`); quarter hours
    # where the zone's offset is not whole hours (India, Nepal, ...)
    offset = datetime.fromtimestamp(data.since, tz).utcoffset()
    whole = offset is None or offset.total_seconds() % 3600 == 0
    unit = 60 if data.step == "minute" else 3600 if whole else 900
    starts: dict[int, float] = {}
    picked = ("calls", "energy_wh", "co2e_g", "co2e_g_low", "co2e_g_high")
    for bucket, team, *values in conn.execute(
            f"SELECT bucket / {unit} * {unit}, team, "
            + ", ".join(f"SUM({f})" if f in cols else "0" for f in picked)
            + f" FROM usage WHERE {cond} GROUP BY 1, 2", args):
        start = starts.get(bucket)
        if start is None:
            start = starts[bucket] = _bucket_start(bucket, data.step, tz)
        s = data.by_time_team.get((start, team))
        if s is None:
            s = data.by_time_team[(start, team)] = Sums()
        s.add(values)  # the first five FIELDS are `picked`
    data.has_market = data.total["co2e_market_g"] != 0
