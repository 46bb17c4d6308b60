"""The embedded ledger: per-minute consumption aggregates in a SQLite file.

Several processes on one host may share the file: it runs in WAL mode, every batch is
one ``BEGIN IMMEDIATE`` transaction of upserts that add to the stored sums, so no update
is lost and a killed process never leaves a half-written batch. Records are queued with
`add()` (no I/O) and written by `flush()` — called by the budget manager's background
thread every ``ledger_flush_s`` and at interpreter exit. A record is *acknowledged* once
the `flush()` that wrote it returned; a SIGKILL loses at most the records added since the
last flush (by default half a second), never an acknowledged one.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["GROUP_KEYS", "Ledger", "Row"]

#: (minute bucket, team, provider, model, operation, labels,
#:  energy_wh, co2e_g, accelerator_wh, calls, input_tokens, output_tokens,
#:  *_LIFE_SUMS, grid_zone, method_version); labels are the stored JSON text or the call's
#: mapping, turned into JSON by `write` off the call path. A row of the first 12 fields
#: (written before the life-cycle columns) is accepted: the rest count as 0 and "".
Row = tuple[int, str, str, str, str, "str | Mapping[str, str]", float, float, float, int,
            int, int, float, float, float, float, float, float, float, float, float, str, str]

_COLUMNS = ("team", "provider", "model", "operation")
#: Keys `totals(group_by=...)` accepts besides "label:<name>".
GROUP_KEYS = (*_COLUMNS, "minute", "hour", "day", "week", "month")
#: Life-cycle sums (issue 10): what `wattmeter report` needs for a scope 3 / CSRD line.
#: Low/high are sums of the calls' 5th/95th percentiles (errors taken as fully correlated).
_LIFE_SUMS = ("co2e_g_low", "co2e_g_high", "co2e_embodied_g", "co2e_embodied_g_low",
              "co2e_embodied_g_high", "water_ml", "water_ml_low", "water_ml_high",
              "adpe_kgsbeq")
#: Text columns kept from the last call of a row's key (its grid zone, its method).
_LIFE_TEXT = ("grid_zone", "method_version")
_SUMS = ("energy_wh", "co2e_g", "accelerator_wh", "calls", "input_tokens", "output_tokens",
         *_LIFE_SUMS)
_NSUMS = len(_SUMS)
_ROW_PAD = (0.0,) * len(_LIFE_SUMS) + ("",) * len(_LIFE_TEXT)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage (
    bucket INTEGER NOT NULL, team TEXT NOT NULL, provider TEXT NOT NULL,
    model TEXT NOT NULL, operation TEXT NOT NULL, labels TEXT NOT NULL,
    energy_wh REAL NOT NULL DEFAULT 0, co2e_g REAL NOT NULL DEFAULT 0,
    accelerator_wh REAL NOT NULL DEFAULT 0, calls INTEGER NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,
    co2e_g_low REAL NOT NULL DEFAULT 0, co2e_g_high REAL NOT NULL DEFAULT 0,
    co2e_embodied_g REAL NOT NULL DEFAULT 0, co2e_embodied_g_low REAL NOT NULL DEFAULT 0,
    co2e_embodied_g_high REAL NOT NULL DEFAULT 0, water_ml REAL NOT NULL DEFAULT 0,
    water_ml_low REAL NOT NULL DEFAULT 0, water_ml_high REAL NOT NULL DEFAULT 0,
    adpe_kgsbeq REAL NOT NULL DEFAULT 0, grid_zone TEXT NOT NULL DEFAULT '',
    method_version TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (team, bucket, provider, model, operation, labels)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fired (
    budget TEXT NOT NULL, period TEXT NOT NULL, threshold REAL NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (budget, period, threshold)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('schema', '1');
"""

_UPSERT = """
INSERT INTO usage (bucket, team, provider, model, operation, labels, energy_wh, co2e_g,
    accelerator_wh, calls, input_tokens, output_tokens, """ + ", ".join(
    (*_LIFE_SUMS, *_LIFE_TEXT)) + """)
VALUES (""" + ",".join("?" * (12 + len(_LIFE_SUMS) + len(_LIFE_TEXT))) + """)
ON CONFLICT (team, bucket, provider, model, operation, labels) DO UPDATE SET
    energy_wh = energy_wh + excluded.energy_wh, co2e_g = co2e_g + excluded.co2e_g,
    accelerator_wh = accelerator_wh + excluded.accelerator_wh,
    calls = calls + excluded.calls, input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens, """ + ", ".join(
    [f"{c} = {c} + excluded.{c}" for c in _LIFE_SUMS]
    + [f"{c} = excluded.{c}" for c in _LIFE_TEXT])


def _add_life_columns(conn: sqlite3.Connection) -> None:
    """Give a ledger file written before the life-cycle columns existed those columns."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(usage)")}
    for col in (*_LIFE_SUMS, *_LIFE_TEXT):
        if col not in have:
            kind = "TEXT NOT NULL DEFAULT ''" if col in _LIFE_TEXT else "REAL NOT NULL DEFAULT 0"
            try:
                conn.execute(f"ALTER TABLE usage ADD COLUMN {col} {kind}")
            except sqlite3.OperationalError as e:  # another process added it first
                if "duplicate column" not in str(e):
                    raise


_json_cache: dict[tuple[tuple[str, str], ...], str] = {}


def labels_json(labels: Mapping[str, str]) -> str:
    """The stored form of a label set: compact JSON with sorted keys (cached: hot path)."""
    if not labels:
        return "{}"
    key = tuple(sorted(labels.items()))
    text = _json_cache.get(key)
    if text is None:
        if len(_json_cache) > 4096:
            _json_cache.clear()
        text = _json_cache[key] = json.dumps(dict(key), separators=(",", ":"))
    return text


class Ledger:
    """A SQLite ledger file: `add()` queues, `flush()` writes, `totals()`/`used()` read."""

    def __init__(self, path: str | os.PathLike[str], *, timeout_s: float = 30.0) -> None:
        self.path = os.fspath(path)
        self.timeout_s = timeout_s
        self._queue: list[Row] = []
        self._queue_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._ready = False

    # -- connections ---------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            parent = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(parent, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode: a committed transaction survives a process kill; only
            # an OS crash or power loss may roll back the last commits (never corrupts).
            conn.execute("PRAGMA synchronous = NORMAL")
            if not self._ready:
                conn.executescript(_SCHEMA)
                _add_life_columns(conn)
                self._ready = True
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            conn.close()

    # -- writing -------------------------------------------------------------------
    def add(self, row: Row) -> None:
        """Queue one record for the next `flush()` (no I/O: safe on the call path)."""
        with self._queue_lock:
            self._queue.append(row)

    def take(self) -> list[Row]:
        """Remove and return everything queued (the caller writes it with `write`)."""
        with self._queue_lock:
            rows, self._queue = self._queue, []
        return rows

    def pending(self) -> int:
        """How many records are queued and not yet written."""
        return len(self._queue)

    def write(self, rows: Sequence[Row]) -> None:
        """Add `rows` to the file in one transaction (rows of the same key merged first)."""
        if not rows:
            return
        merged: dict[tuple[Any, ...], list[Any]] = {}
        for r in rows:
            labels = r[5]
            key = (*r[:5], labels if isinstance(labels, str) else labels_json(labels))
            vals = r[6:] if len(r) > 12 else (*r[6:], *_ROW_PAD)
            cur = merged.get(key)
            if cur is None:
                merged[key] = [*key, *vals]
            else:
                for i in range(_NSUMS):
                    cur[6 + i] += vals[i]
                cur[6 + _NSUMS:] = vals[_NSUMS:]
        with self._write_lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(_UPSERT, [tuple(v) for v in merged.values()])
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def flush(self) -> int:
        """Write every queued record now; returns how many were written."""
        rows = self.take()
        try:
            self.write(rows)
        except BaseException:
            with self._queue_lock:  # keep them for the next try
                self._queue[:0] = rows
            raise
        return len(rows)

    # -- the budgets in force, so `wattmeter budgets --ledger` works without configuration --
    def save_budgets(self, tables: Sequence[Mapping[str, Any]]) -> None:
        """Remember the definitions of the budgets in force (``Budget.to_table()`` forms)."""
        text = json.dumps(list(tables), sort_keys=True, default=str)
        with self._write_lock:
            self._conn().execute("INSERT OR REPLACE INTO meta VALUES ('budgets', ?)", (text,))

    def saved_budgets(self) -> list[dict[str, Any]]:
        """The budget definitions last saved by a process using this ledger ([] if none)."""
        row = self._conn().execute("SELECT value FROM meta WHERE key = 'budgets'").fetchone()
        return list(json.loads(row[0])) if row else []

    # -- thresholds that already fired -------------------------------------------------
    def mark_fired(self, budget: str, period: str, threshold: float, at: float) -> bool:
        """Remember a threshold event; False if it was already recorded (by any process)."""
        with self._write_lock:
            cur = self._conn().execute("INSERT OR IGNORE INTO fired VALUES (?,?,?,?)",
                                       (budget, period, threshold, at))
            return cur.rowcount == 1

    def unmark_fired(self, budget: str, period: str, threshold: float) -> None:
        """Forget a threshold event (a rolling window dropped back below it)."""
        with self._write_lock:
            self._conn().execute("DELETE FROM fired WHERE budget=? AND period=? AND "
                                 "threshold=?", (budget, period, threshold))

    def fired(self, budget: str, period: str) -> set[float]:
        """Thresholds already fired for this budget in this period."""
        rows = self._conn().execute("SELECT threshold FROM fired WHERE budget=? AND "
                                    "period=?", (budget, period)).fetchall()
        return {r[0] for r in rows}

    # -- reading -------------------------------------------------------------------
    def used(self, team: str, since: float, until: float, *, metric: str = "energy_wh",
             provider: str | None = None, model: str | None = None,
             operation: str | None = None, labels: Mapping[str, str] | None = None) -> float:
        """Sum of `metric` for one team's matching calls with since <= minute < until."""
        if metric not in _SUMS:
            raise ValueError(f"metric: got {metric!r}; expected one of {', '.join(_SUMS)}")
        sql = [f"SELECT COALESCE(SUM({metric}), 0) FROM usage WHERE team = ? "
               "AND bucket >= ? AND bucket < ?"]
        args: list[Any] = [team, int(since // 60 * 60), until]
        for col, value in (("provider", provider), ("model", model),
                           ("operation", operation)):
            if value is not None:
                sql.append(f"AND {col} = ?")
                args.append(value)
        for key, value in (labels or {}).items():
            sql.append("AND json_extract(labels, ?) = ?")
            args.extend((f'$."{key}"', value))
        row = self._conn().execute(" ".join(sql), args).fetchone()
        return float(row[0])

    def totals(self, since: float | None = None, until: float | None = None,
               group_by: Iterable[str] = ("team", "model"), *, tz: Any = None,
               where: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Sums per group for calls in [since, until) (epoch seconds; None: unbounded).

        `group_by` takes "team", "provider", "model", "operation", "label:<name>" and the
        time keys "minute", "hour", "day", "week", "month" (in `tz`, default UTC). Each
        row has the group keys plus energy_wh, co2e_g, accelerator_wh, calls,
        input_tokens, output_tokens, the life-cycle sums (`_LIFE_SUMS`) and the lists
        grid_zones and method_versions, sorted by the group keys.
        """
        keys = tuple(group_by)
        for k in keys:
            if k not in GROUP_KEYS and not k.startswith("label:"):
                raise ValueError(f"group_by: got {k!r}; expected any of "
                                 f"{', '.join(GROUP_KEYS)} or 'label:<name>'")
        sql = ["SELECT bucket, team, provider, model, operation, labels, "
               + ", ".join(f"SUM({s})" for s in _SUMS) + ", " + ", ".join(
                   f"MAX({c})" for c in _LIFE_TEXT) + " FROM usage WHERE 1=1"]
        args: list[Any] = []
        if since is not None:
            sql.append("AND bucket >= ?")
            args.append(int(since // 60 * 60))
        if until is not None:
            sql.append("AND bucket < ?")
            args.append(until)
        for col, value in (where or {}).items():
            if col not in _COLUMNS:
                raise ValueError(f"where: got {col!r}; expected any of {', '.join(_COLUMNS)}")
            sql.append(f"AND {col} = ?")
            args.append(value)
        sql.append("GROUP BY bucket, team, provider, model, operation, labels")
        groups: dict[tuple[Any, ...], list[Any]] = {}
        texts: dict[tuple[Any, ...], tuple[set[str], set[str]]] = {}
        end = 6 + _NSUMS
        for row in self._conn().execute(" ".join(sql), args):
            gk = tuple(_group_value(k, row, tz) for k in keys)
            acc = groups.get(gk)
            if acc is None:
                groups[gk] = list(row[6:end])
                texts[gk] = (set(), set())
            else:
                for i, v in enumerate(row[6:end]):
                    acc[i] += v
            for seen, value in zip(texts[gk], row[end:], strict=True):
                if value:
                    seen.add(value)
        out = []
        for gk in sorted(groups, key=lambda t: tuple(str(x) for x in t)):
            d: dict[str, Any] = dict(zip(keys, gk, strict=True))
            d.update(zip(_SUMS, groups[gk], strict=True))
            d["grid_zones"], d["method_versions"] = (sorted(t) for t in texts[gk])
            out.append(d)
        return out

    def integrity_ok(self) -> bool:
        """True when SQLite's integrity check passes."""
        return bool(self._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok")


def _group_value(key: str, row: Sequence[Any], tz: Any) -> Any:
    if key in _COLUMNS:
        return row[1 + _COLUMNS.index(key)]
    if key.startswith("label:"):
        return json.loads(row[5]).get(key[6:], "")
    from datetime import datetime, timedelta, timezone

    t = datetime.fromtimestamp(row[0], tz or timezone.utc)
    if key == "minute":
        return t.strftime("%Y-%m-%dT%H:%M")
    if key == "hour":
        return t.strftime("%Y-%m-%dT%H:00")
    if key == "day":
        return t.strftime("%Y-%m-%d")
    if key == "week":
        return (t - timedelta(days=t.weekday())).strftime("%Y-%m-%d")
    return t.strftime("%Y-%m")
