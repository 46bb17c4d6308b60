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
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

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


class Sums(list):  # type: ignore[type-arg]
    """Sums of `FIELDS`, readable by name: ``s["co2e_g"]``."""

    def __init__(self) -> None:
        super().__init__([0.0] * len(FIELDS))

    def add(self, values: list[float] | tuple[float, ...]) -> None:
        for i, v in enumerate(values):
            self[i] += v

    def __getitem__(self, key):  # type: ignore[no-untyped-def,override]
        return list.__getitem__(self, _IX[key] if isinstance(key, str) else key)


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
    has_market: bool = False
    teams_in_ledger: set[str] = field(default_factory=set)

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
        select = ", ".join(f if f in cols else "0" for f in FIELDS)
        has_market = "co2e_market_g" in cols
        zone = "grid_zone" if "grid_zone" in cols else "''"
        version = "method_version" if "method_version" in cols else "''"
        teams = {r[0] for r in conn.execute("SELECT DISTINCT team FROM usage")}
        if not teams:
            raise ValueError(f"--ledger: {path} holds no calls yet; run the metered "
                             "application (or `wattmeter demo`) first")
        if team is not None and team not in teams:
            raise ValueError(f"--team: no team {team!r} in {path}; teams there: "
                             + ", ".join(sorted(teams)[:20]))
        sql = [f"SELECT bucket, team, provider, model, operation, {zone}, {version}, {select} "
               "FROM usage WHERE 1=1"]
        args: list[object] = []
        if since is not None:
            sql.append("AND bucket >= ?")
            args.append(int(since // 60 * 60))
        if until is not None:
            sql.append("AND bucket < ?")
            args.append(until)
        if team is not None:
            sql.append("AND team = ?")
            args.append(team)
        rows = conn.execute(" ".join(sql), args).fetchall()
    finally:
        conn.close()
    if not rows:
        raise ValueError("--since/--until/--period: no calls in that period"
                         + (f" for team {team!r}" if team else "")
                         + "; widen the period (the ledger has calls of "
                         + ", ".join(sorted(teams)[:20]) + ")")
    first = min(r[0] for r in rows)
    last = max(r[0] for r in rows) + 60
    lo = since if since is not None else first
    hi = until if until is not None and math.isfinite(until) else last
    data = Data(since=lo, until=hi, step=_step(min(hi, last) - max(lo, first)),
                teams_in_ledger=teams)
    data.has_market = has_market and any(r[7 + _IX["co2e_market_g"]] for r in rows)
    _sum(data, rows, tz)
    return data


def _sum(data: Data, rows: list[tuple[Any, ...]], tz: tzinfo) -> None:
    starts: dict[int, float] = {}
    step, short = data.step, SHORT_OUTPUT_TOKENS
    i_calls, i_out, i_co2 = 7 + _IX["calls"], 7 + _IX["output_tokens"], 7 + _IX["co2e_g"]
    for r in rows:
        bucket, team, provider, model, operation, zone, version = r[:7]
        values = r[7:]
        key = bucket // 3600 * 3600 if step == "hour" else bucket
        start = starts.get(key)
        if start is None:
            start = starts[key] = _bucket_start(key, step, tz)
        tables: tuple[tuple[dict[Any, Sums], Any], ...] = (
            (data.by_time_team, (start, team)), (data.by_team, team),
            (data.by_model, (provider, model)), (data.by_provider, provider))
        for table, k in tables:
            s = table.get(k)
            if s is None:
                s = table[k] = Sums()
            s.add(values)
        data.total.add(values)
        use = data.by_use.get((team, provider, model, operation))
        if use is None:
            use = data.by_use[(team, provider, model, operation)] = (
                Sums(), Sums())
        use[0].add(values)
        calls = r[i_calls]
        if calls and r[i_out] < short * calls:
            use[1].add(values)
        if zone:
            z = data.zones.setdefault((team, provider), {})
            z[zone] = z.get(zone, 0.0) + r[i_co2]
        if version:
            data.method_versions.add(version)
