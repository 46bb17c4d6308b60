"""The embedded ledger: per-minute consumption aggregates in a SQLite file.

Several processes on one host may share the file: it runs in WAL mode, every batch is
one ``BEGIN IMMEDIATE`` transaction of upserts that add to the stored sums, so no update
is lost and a killed process never leaves a half-written batch. Records are queued with
`add()` (no I/O) and written by `flush()` — called by the budget manager's background
thread every ``ledger_flush_s`` and at interpreter exit. A record is *acknowledged* once
the `flush()` that wrote it returned; a SIGKILL loses at most the records added since the
last flush (by default half a second), never an acknowledged one.

Faults never stop the ledger: a row SQLite cannot store (NaN, an integer past 64 bits, a
lone surrogate) is dropped and counted, the rest of its batch is written; while the file
is unwritable the queue keeps one aggregated row per key and minute, capped at
``max_queue`` rows (further rows are dropped and counted). No wattmeter thread is inside
SQLite when the process forks, and a child never closes a connection it inherited.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._guard import count_error, logger

__all__ = ["DATA_ERRORS", "DEFAULT_MAX_QUEUE", "GROUP_KEYS", "MARKET_STANDIN", "UNRECORDED",
           "Ledger", "Row", "calls_in", "merge"]

#: (minute bucket, team, provider, model, operation, labels,
#:  energy_wh, co2e_g, accelerator_wh, calls, input_tokens, output_tokens,
#:  *_LIFE_SUMS, grid_zone, method_version, regime); labels are the stored JSON text or the
#: call's mapping, turned into JSON by `write` off the call path. The numbers after the
#: labels are sums; the texts keep their latest value. A row of the first 12 fields
#: (written before the life-cycle columns) is accepted: the rest count as 0 and "";
#: so is a row of the layout before the market-based sums (their 3 count as 0), and one
#: before the serving regime (it counts as "").
Row = tuple[int, str, str, str, str, "str | Mapping[str, str]", float, float, float, int,
            int, int, float, float, float, float, float, float, float, float, float, float,
            float, float, str, str, str]

_COLUMNS = ("team", "provider", "model", "operation")
#: Keys `totals(group_by=...)` accepts besides "label:<name>".
GROUP_KEYS = (*_COLUMNS, "minute", "hour", "day", "week", "month")
#: Life-cycle sums (issue 10): what `wattmeter report` needs for a scope 3 / CSRD line.
#: Low/high are sums of the calls' 5th/95th percentiles (errors taken as fully correlated).
#: Then the market-based CO2e (GHG Protocol Scope 2; docs/grid.md) beside ``co2e_g``.
_MARKET_SUMS = ("co2e_market_g", "co2e_market_g_low", "co2e_market_g_high")
_LIFE_SUMS = ("co2e_g_low", "co2e_g_high", "co2e_embodied_g", "co2e_embodied_g_low",
              "co2e_embodied_g_high", "water_ml", "water_ml_low", "water_ml_high",
              "adpe_kgsbeq", *_MARKET_SUMS)
#: Text columns kept from the last call of a row's key (its grid zone, its method, its
#: serving regime: docs/regimes.md).
_LIFE_TEXT = ("grid_zone", "method_version", "regime")
_SUMS = ("energy_wh", "co2e_g", "accelerator_wh", "calls", "input_tokens", "output_tokens",
         *_LIFE_SUMS)
_NSUMS = len(_SUMS)
#: A row written before the market-based columns (they read 0 there), and the location-based
#: sum that stands in for each market-based one of such rows (the GHG Protocol's grid average).
UNRECORDED = "(co2e_market_g = 0 AND co2e_market_g_low = 0 AND co2e_market_g_high = 0)"
MARKET_STANDIN = {"co2e_market_g": "co2e_g", "co2e_market_g_low": "co2e_g_low",
                  "co2e_market_g_high": "co2e_g_high"}
_ROW_PAD = (0.0,) * len(_LIFE_SUMS) + ("",) * len(_LIFE_TEXT)
#: Where the market-based sums start in a row, and the length of a row written without them
#: (it had two texts: grid zone and method), and of one written without the regime.
_MARKET_AT = 6 + _NSUMS - len(_MARKET_SUMS)
_PRE_MARKET = _MARKET_AT + 2
_PRE_REGIME = 6 + _NSUMS + 2

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
    method_version TEXT NOT NULL DEFAULT '', co2e_market_g REAL NOT NULL DEFAULT 0,
    co2e_market_g_low REAL NOT NULL DEFAULT 0, co2e_market_g_high REAL NOT NULL DEFAULT 0,
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


def _wal(conn: sqlite3.Connection, timeout_s: float) -> None:
    """Switch to WAL, waiting out a concurrent first open of the same new file: SQLite does
    not call the busy handler for a journal-mode change, so two processes (or threads)
    opening a new ledger at once got "database is locked" at once, whatever the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _add_life_columns(conn: sqlite3.Connection) -> None:
    """Give a ledger file written before the life-cycle (or the market-based CO2e) columns
    existed those columns; its old rows read 0 there."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(usage)")}
    for col in (*_LIFE_SUMS, *_LIFE_TEXT):
        if col not in have:
            kind = "TEXT NOT NULL DEFAULT ''" if col in _LIFE_TEXT else "REAL NOT NULL DEFAULT 0"
            try:
                conn.execute(f"ALTER TABLE usage ADD COLUMN {col} {kind}")
            except sqlite3.OperationalError as e:  # another process added it first
                if "duplicate column" not in str(e):
                    raise


#: Errors that belong to one row's values, not to the file: the row is dropped, not retried.
DATA_ERRORS: tuple[type[BaseException], ...] = (
    OverflowError, UnicodeError, ValueError, TypeError, sqlite3.IntegrityError,
    sqlite3.InterfaceError, sqlite3.DataError, sqlite3.ProgrammingError)
#: Rows kept in memory while the file is unwritable (about 200 bytes each).
DEFAULT_MAX_QUEUE = 50_000
_INT64 = 1 << 63

#: Connections a forked child inherited: kept referenced so the child never closes them
#: (closing a parent's SQLite connection in a child can corrupt the parent's locks).
_inherited: list[Any] = []
_ledgers: weakref.WeakSet[Ledger] = weakref.WeakSet()
_warned: set[str] = set()


def _warn_once(key: str, msg: str, *args: Any) -> None:
    if key not in _warned:
        _warned.add(key)
        logger.warning(msg, *args)


def _row_problem(row: Sequence[Any]) -> str:
    """Why SQLite would reject `row` ('' if it would not): checked before merging, so one
    bad row does not spoil the sums of good rows with the same key."""
    for v in row[1:5]:
        if not isinstance(v, str):
            return "a non-text column"
        if not v.isascii():
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return "text that is not valid UTF-8 (a lone surrogate)"
    for v in row[6 + _NSUMS:]:
        if not isinstance(v, str):
            return "a non-text column"
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            return "text that is not valid UTF-8 (a lone surrogate)"
    for v in row[6:6 + _NSUMS]:
        if isinstance(v, float):
            if not math.isfinite(v):
                return "a non-finite number"
        elif isinstance(v, int) and not isinstance(v, bool):
            if not -_INT64 <= v < _INT64:
                return "an integer beyond 64 bits"
        else:
            return "a non-numeric sum"
    return ""


def merge(rows: Iterable[Row]) -> list[Row]:
    """Rows of the same key (minute, team, provider, model, operation, labels) summed into
    one, labels as stored JSON; rows SQLite would reject are dropped and counted."""
    merged: dict[tuple[Any, ...], list[Any]] = {}
    end = 6 + _NSUMS
    for r in rows:
        if len(r) <= 12:  # a row of the fields before the life-cycle columns
            r = (*r, *_ROW_PAD)  # type: ignore[assignment]
        elif len(r) == _PRE_MARKET:  # ... before the market-based sums
            r = (*r[:_MARKET_AT], 0.0, 0.0, 0.0, *r[_MARKET_AT:])  # type: ignore[assignment]
        if len(r) == _PRE_REGIME:  # ... before the serving regime
            r = (*r, "")  # type: ignore[assignment]
        problem = _row_problem(r)
        if problem:
            _drop(problem)
            continue
        labels = r[5]
        key = (*r[:5], labels if isinstance(labels, str) else labels_json(labels))
        cur = merged.get(key)
        if cur is None:
            merged[key] = [*key, *r[6:]]
        else:
            for i in range(6, end):
                cur[i] += r[i]
            cur[end:] = r[end:]
    return [tuple(v) for v in merged.values()]


def _drop(reason: str, n: int = 1) -> None:
    for _ in range(n):
        count_error("budget_ledger_row")
    _warn_once(f"drop:{reason}", "wattmeter budget ledger: dropped a record with %s (it can't "
               "be stored; the call itself was unaffected); further drops are counted in "
               "wattmeter_errors_total{where=\"budget_ledger_row\"}", reason)


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

    def __init__(self, path: str | os.PathLike[str], *, timeout_s: float = 30.0,
                 max_queue: int = DEFAULT_MAX_QUEUE) -> None:
        self.path = os.fspath(path)
        self.timeout_s = timeout_s
        self.max_queue = max_queue
        self.dropped = 0  # records not queued (queue full) or not storable, since start
        self._queue: list[Row] = []
        self._compactable = True  # False while merging the full queue gained little
        self._queue_lock = threading.Lock()
        #: Held around every use of SQLite, so a fork can wait until no thread is inside it.
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._ready = False
        self.fault: str | None = None  # the persistent write fault, while there is one
        _ledgers.add(self)

    # -- connections ---------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            parent = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(parent, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None,
                                   check_same_thread=False)
            self._conns.append(conn)
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            _wal(conn, self.timeout_s)
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
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            self._local.conn = None
            with self._write_lock:
                if conn in self._conns:
                    self._conns.remove(conn)
                conn.close()

    # -- writing -------------------------------------------------------------------
    def add(self, row: Row) -> None:
        """Queue one record for the next `flush()` (no I/O: safe on the call path)."""
        with self._queue_lock:
            if len(self._queue) < self.max_queue:
                self._queue.append(row)
                return
            if self._compactable:  # full: merge per key and minute before dropping anything
                self._queue = merge(self._queue)
                # Little gained (many distinct keys): don't merge again until the next take.
                self._compactable = len(self._queue) < self.max_queue // 2
                if len(self._queue) < self.max_queue:
                    self._queue.append(row)
                    return
            self.dropped += 1
        self._queue_full(1)

    def _queue_full(self, n: int) -> None:
        for _ in range(n):
            count_error("budget_ledger_queue")
        _warn_once("queue", "wattmeter budget ledger %s: %d records are waiting to be "
                   "written; new records are dropped until the file is writable again "
                   "(counted in wattmeter_errors_total{where=\"budget_ledger_queue\"})",
                   self.path, self.max_queue)

    def take(self) -> list[Row]:
        """Remove and return everything queued (the caller writes it with `write`)."""
        with self._queue_lock:
            rows, self._queue = self._queue, []
            self._compactable = True
        return rows

    def requeue(self, rows: Sequence[Row]) -> None:
        """Put back rows a failed `write` could not store (merged, so at most one per key
        and minute), ahead of newer ones; what exceeds ``max_queue`` is dropped and counted."""
        with self._queue_lock:
            self._queue[:0] = rows
            excess = len(self._queue) - self.max_queue
            if excess > 0:
                del self._queue[:excess]  # the oldest minutes go first
                self.dropped += excess
        if excess > 0:
            self._queue_full(excess)

    def pending(self) -> int:
        """How many records are queued and not yet written."""
        return len(self._queue)

    def write(self, rows: Sequence[Row]) -> list[Row]:
        """Add `rows` to the file in one transaction (rows of the same key merged first).

        Rows SQLite rejects are dropped and counted, the others written. Returns the merged
        rows, which a caller puts back with `requeue` if this raises (the file is locked,
        read-only, full, ...): the exception then names a fault of the file, not of a row.
        """
        merged = merge(rows)
        if merged:
            self.write_merged(merged)
        return merged

    def write_merged(self, merged: Sequence[Row]) -> None:
        """Write rows already `merge`d, isolating any row SQLite still rejects."""
        with self._write_lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                try:
                    conn.executemany(_UPSERT, merged)
                except DATA_ERRORS:  # one row is bad: start over, one row at a time
                    conn.execute("ROLLBACK")
                    conn.execute("BEGIN IMMEDIATE")
                    for row in merged:
                        try:
                            conn.execute(_UPSERT, row)
                        except DATA_ERRORS as exc:
                            self.dropped += 1
                            _drop(type(exc).__name__)
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def flush(self) -> int:
        """Write every queued record now; returns how many were taken from the queue."""
        rows = self.take()
        merged: list[Row] = []
        try:
            merged = merge(rows)
            if merged:  # nothing queued: no I/O (a forked child exiting, say)
                self.write_merged(merged)
        except BaseException:
            self.requeue(merged)  # keep them for the next try
            raise
        return len(rows)

    def after_fork_child(self) -> None:
        """In a forked child: forget the parent's queue and connections, without closing
        them, and start with fresh locks (no thread of the parent exists here)."""
        _inherited.extend(self._conns)
        self._conns = []
        self._local = threading.local()
        self._queue = []
        self._queue_lock = threading.Lock()
        self._write_lock = threading.Lock()

    # -- the budgets in force, so `wattmeter budgets --ledger` works without configuration --
    def save_budgets(self, tables: Sequence[Mapping[str, Any]]) -> None:
        """Remember the definitions of the budgets in force (``Budget.to_table()`` forms)."""
        text = json.dumps(list(tables), sort_keys=True, default=str)
        with self._write_lock:
            self._conn().execute("INSERT OR REPLACE INTO meta VALUES ('budgets', ?)", (text,))

    def saved_budgets(self) -> list[dict[str, Any]]:
        """The budget definitions last saved by a process using this ledger ([] if none)."""
        with self._write_lock:
            row = self._conn().execute("SELECT value FROM meta WHERE key = 'budgets'"
                                       ).fetchone()
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
        with self._write_lock:
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
        with self._write_lock:
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
        grid_zones, method_versions and regimes, sorted by the group keys.
        """
        keys = tuple(group_by)
        for k in keys:
            if k not in GROUP_KEYS and not k.startswith("label:"):
                raise ValueError(f"group_by: got {k!r}; expected any of "
                                 f"{', '.join(GROUP_KEYS)} or 'label:<name>'")
        sql = ["SELECT bucket, team, provider, model, operation, labels, "
               + ", ".join(f"SUM({s})" for s in _SUMS) + ", " + ", ".join(
                   f"MAX({c})" for c in _LIFE_TEXT) + ", " + ", ".join(
                   f"SUM(CASE WHEN {UNRECORDED} THEN {c} ELSE 0 END)"
                   for c in MARKET_STANDIN.values()) + " FROM usage WHERE"]
        cond, args = calls_in(since, until, where)
        sql += [cond, "GROUP BY bucket, team, provider, model, operation, labels"]
        groups: dict[tuple[Any, ...], list[Any]] = {}
        texts: dict[tuple[Any, ...], tuple[set[str], ...]] = {}
        end = 6 + _NSUMS
        tend = end + len(_LIFE_TEXT)
        with self._write_lock:
            found = self._conn().execute(" ".join(sql), args).fetchall()
        for row in found:
            gk = tuple(_group_value(k, row, tz) for k in keys)
            acc = groups.get(gk)
            sums = (*row[6:end], *row[tend:])  # then the older rows' location-based CO2e
            if acc is None:
                groups[gk] = list(sums)
                texts[gk] = tuple(set() for _ in _LIFE_TEXT)
            else:
                for i, v in enumerate(sums):
                    acc[i] += v
            for seen, value in zip(texts[gk], row[end:tend], strict=True):
                if value:
                    seen.add(value)
        out = []
        m = _SUMS.index("co2e_market_g")
        for gk in sorted(groups, key=lambda t: tuple(str(x) for x in t)):
            d: dict[str, Any] = dict(zip(keys, gk, strict=True))
            acc = groups[gk]
            standin = acc[_NSUMS:]
            if acc[m] and standin[0]:  # both kinds of rows: the older ones' location-based
                # CO2e stands in for their market-based (the GHG Protocol's grid average)
                for i in range(3):
                    acc[m + i] += standin[i]
                d["co2e_market_standin_g"] = standin[0]
            d.update(zip(_SUMS, acc[:_NSUMS], strict=True))
            d["grid_zones"], d["method_versions"], d["regimes"] = (
                sorted(t) for t in texts[gk])
            out.append(d)
        return out

    def integrity_ok(self) -> bool:
        """True when SQLite's integrity check passes."""
        with self._write_lock:
            return bool(self._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok")


def calls_in(since: float | None, until: float | None,
             where: Mapping[str, str] | None = None) -> tuple[str, list[Any]]:
    """The SQL condition, and its arguments, of the rows of calls in [since, until) (epoch
    seconds; None: unbounded) whose columns equal `where` ("team", "provider", ...)."""
    cond: list[str] = ["1=1"]
    args: list[Any] = []
    if since is not None:
        cond.append("bucket >= ?")
        args.append(int(since // 60 * 60))
    if until is not None:
        cond.append("bucket < ?")
        args.append(until)
    for col, value in (where or {}).items():
        if col not in _COLUMNS:
            raise ValueError(f"where: got {col!r}; expected any of {', '.join(_COLUMNS)}")
        cond.append(f"{col} = ?")
        args.append(value)
    return " AND ".join(cond), args


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


# -- fork safety: no wattmeter thread inside SQLite at fork, fresh locks in the child -----
_held: list[threading.Lock] = []


def _before_fork() -> None:
    for ledger in list(_ledgers):
        lock = ledger._write_lock
        # Bounded: a writer waits at most its busy timeout for another process' lock.
        if lock.acquire(timeout=ledger.timeout_s + 1.0):
            _held.append(lock)


def _after_fork_parent() -> None:
    while _held:
        _held.pop().release()


def _after_fork_child() -> None:
    _held.clear()
    for ledger in list(_ledgers):
        ledger.after_fork_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_parent,
                        after_in_child=_after_fork_child)
