"""The budget manager: in-memory totals on the call path, ledger and events in the background.

`check()` (before a request) is a dict lookup plus, for the team's budgets with the
``raise`` action, one comparison each. `record()` (after a call) adds to in-memory totals
and queues a ledger row. Nothing here waits on disk or network on the caller's thread:
construction does no I/O; one background thread loads the totals, flushes the ledger,
refreshes each budget's use, fires threshold events once per period (remembered in the
ledger, so restarts don't repeat them) and updates gauges; in fleet mode a second thread
asks Prometheus (each query under a total deadline), so a hanging Prometheus never holds
up ledger writes.

Each budget's use is ``base + inflight + pending``: ``base`` is what the ledger (or
Prometheus) said at the last refresh, ``pending`` what this process recorded since, and
``inflight`` what it recorded just before a refresh that is being written and re-read.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from .. import _queue
from .._errors import BudgetExceededError
from .._guard import count_error, internal_error, logger
from .._version import METHOD_VERSION
from ._actions import BudgetEvent, Dispatcher
from ._budget import Budget
from ._fleet import FleetError, FleetSource, budget_supported
from ._label_bounds import LedgerLabelBounds
from ._ledger import Ledger, Row, merge
from ._status import BudgetStatus, status_of, to_base
from ._threads import Lifecycle
from ._units import ENERGY, format_amount

__all__ = ["BudgetManager", "Publisher"]

_OPTIONS = ("budgets", "ledger", "ledger_always", "ledger_path", "ledger_flush_s",
            "ledger_max_label_values", "prometheus_url",
            "fleet_ttl_s", "fleet_timeout_s", "fail_closed", "timezone", "webhook_url",
            "prometheus")
#: SQLite busy timeout of the manager's ledger: a locked file fails one background cycle
#: after this long (rows stay queued), and a fork waits at most this long for the writer.
LEDGER_BUSY_S = 2.0

#: Receives each budget's state for the gauges: (team, budget, unit, limit, used, forecast),
#: in base units; `wattmeter.export.prometheus.set_budget_status` is the usual one.
Publisher = Callable[[str, str, str, float, float, float], None]


#: Footprint fields of a ledger row, in its order, that a measured figure corrects.
_CORRECTED = ("energy_wh", "co2e_g", "accelerator_wh", "co2e_g_low", "co2e_g_high",
              "co2e_embodied_g", "co2e_embodied_g_low", "co2e_embodied_g_high", "water_ml",
              "water_ml_low", "water_ml_high", "adpe_kgsbeq", "co2e_market_g",
              "co2e_market_g_low", "co2e_market_g_high")


class _State:
    """One budget's running totals in the current period."""

    __slots__ = ("answer", "asked", "base", "budget", "end", "fired", "fleet", "fleet_ok",
                 "inflight", "key", "last_refresh", "narrowed", "pending", "published",
                 "start", "verified")

    def __init__(self, budget: Budget, fleet: bool) -> None:
        self.budget = budget
        self.fleet = fleet
        #: False when every call of the team counts: the call path skips `applies()`.
        self.narrowed = bool(budget.labels) or any(
            v is not None for v in (budget.provider, budget.model, budget.operation))
        self.start = self.end = 0.0
        self.key = ""
        self.base = self.inflight = self.pending = 0.0
        self.verified = True
        self.fired: set[float] | None = None
        self.last_refresh = -math.inf
        self.published: tuple[float, ...] | None = None
        #: Fleet mode: the latest answer of the fleet thread not applied yet
        #: (period key, total or None, error or None), when it last asked, and whether
        #: the last answer was good (None: no answer yet).
        self.answer: tuple[str, float | None, str | None] | None = None
        self.asked = -math.inf
        self.fleet_ok: bool | None = None

    @property
    def used(self) -> float:
        return self.base + self.inflight + self.pending


class BudgetManager(Lifecycle):
    """Tracks every configured budget for this process; see the module docstring.

    With ``background=False`` (tests, the CLI) nothing runs by itself: the constructor
    loads the totals now and `sync()` runs a cycle, fleet queries included.
    """

    def __init__(self, cfg: Any = None, *, clock: Callable[[], float] = time.time,
                 background: bool = True, publish: Publisher | None = None,
                 **overrides: Any) -> None:
        from zoneinfo import ZoneInfo

        from .. import _config

        opts = {n: getattr(cfg, n) if cfg is not None else _config.OPTIONS[n].default
                for n in _OPTIONS}
        opts.update({k: _config.validate(k, v) for k, v in overrides.items()})
        self.options = opts
        self.clock = clock
        self.publish = publish
        self.tz = ZoneInfo(opts["timezone"])
        self.fail_closed = bool(opts["fail_closed"])
        self.ledger = Ledger(os.path.abspath(opts["ledger_path"]), timeout_s=LEDGER_BUSY_S)
        self.fleet: FleetSource | None = None
        if opts["ledger"] == "prometheus":
            if not opts["prometheus_url"]:
                raise ValueError("wattmeter option 'ledger': 'prometheus' needs "
                                 "prometheus_url, e.g. 'http://prometheus:9090'")
            self.fleet = FleetSource(opts["prometheus_url"], timeout_s=opts["fleet_timeout_s"])
        self.dispatcher = Dispatcher(opts["webhook_url"])
        self.states = [_State(b, self.fleet is not None and budget_supported(b))
                       for b in opts["budgets"]]
        for st in self.states:
            if self.fleet is not None and not st.fleet:
                logger.warning("wattmeter budget %r narrows on labels %s that the exported "
                               "counters don't carry; it uses this host's ledger only",
                               st.budget.name, sorted(st.budget.labels))
        by_team: dict[str, list[_State]] = {}
        for st in self.states:
            by_team.setdefault(st.budget.team, []).append(st)
        self._by_team = {t: tuple(s) for t, s in by_team.items()}
        self._raise_by_team = {t: tuple(s for s in ss if "raise" in s.budget.actions)
                               for t, ss in self._by_team.items()}
        self._raise_by_team = {t: ss for t, ss in self._raise_by_team.items() if ss}
        self.label_bounds = LedgerLabelBounds(int(opts["ledger_max_label_values"]), (
            item for st in self.states for item in st.budget.labels.items()))
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fleet_thread: threading.Thread | None = None
        self._background = background
        self._needs_start = False  # set in a forked child: start threads on first record
        self._finished = False
        self._faults: set[str] = set()  # persistent faults already logged
        self.errors: list[BaseException] = []  # background failures (strict mode re-raises)
        now = clock()
        for st in self.states:
            self._roll(st, now)
        if background:
            self.start()
        else:
            self._startup()

    # -- the call path ------------------------------------------------------------
    def check(self, team: str, labels: Mapping[str, str], provider: str, model: str,
              operation: str) -> None:
        """Raise `BudgetExceededError` if a ``raise`` budget of this call is spent."""
        states = self._raise_by_team.get(team)
        if states is None:
            return
        try:
            now = self.clock()
            for st in states:
                b = st.budget
                if st.narrowed and not b.applies(labels, provider, model, operation):
                    continue
                if now >= st.end:
                    with self._lock:
                        self._roll(st, now)
                used = st.base + st.inflight + st.pending
                if used >= b.limit:
                    raise BudgetExceededError(
                        f"wattmeter budget {b.name!r} of team {team!r} is spent: "
                        f"{format_amount(b.metric, used)} of {format_amount(b.metric, b.limit)}"
                        f" {self._until(st)}; the call was not sent",
                        team=team, budget=b, used=used, limit=b.limit, unit=b.unit)
                if self.fail_closed and not st.verified:
                    raise BudgetExceededError(
                        f"wattmeter budget {b.name!r} of team {team!r}: consumption can't be "
                        "verified (ledger or Prometheus unavailable) and fail_closed is set; "
                        "the call was not sent", team=team, budget=b, used=used,
                        limit=b.limit, unit=b.unit)
        except BudgetExceededError:
            raise
        except Exception as exc:
            internal_error("budget_check", exc)

    def _until(self, st: _State) -> str:
        if st.budget.period.rolling:
            return f"in the last {st.budget.period.text}"
        from datetime import datetime

        return f"this {st.budget.period.text} (until {datetime.fromtimestamp(st.end, self.tz)})"

    def record(self, fp: Any, call: Any = None) -> None:
        """Add a finished call to the in-memory totals and queue its ledger row."""
        if self._needs_start:
            self._start_in_child()
        now = self.clock()
        row: Row = (int(now // 60 * 60), fp.team, fp.provider, fp.model, fp.operation,
                    fp.labels, fp.energy_wh, fp.co2e_g, fp.accelerator_wh, 1,
                    fp.input_tokens, fp.output_tokens,  # labels: JSON in the writer
                    fp.co2e_g_low, fp.co2e_g_high, fp.co2e_embodied_g,
                    fp.co2e_embodied_g_low, fp.co2e_embodied_g_high, fp.water_ml,
                    fp.water_ml_low, fp.water_ml_high, fp.adpe_kgsbeq, fp.co2e_market_g,
                    fp.co2e_market_g_low, fp.co2e_market_g_high, fp.grid_zone,
                    METHOD_VERSION, fp.regime)
        states = self._by_team.get(fp.team, ())
        with self._lock:
            if fp.labels:  # caller-chosen values: the day's top ones by energy keep names
                bounded = self.label_bounds.bound(fp.labels, fp.energy_wh, now)
                if bounded is not fp.labels:
                    row = (*row[:5], bounded, *row[6:])
            self.ledger.add(row)
            for st in states:
                b = st.budget
                if not st.narrowed or b.applies(fp.labels, fp.provider, fp.model,
                                                fp.operation):
                    if now >= st.end:
                        self._roll(st, now)
                    st.pending += fp.energy_wh if b.metric == ENERGY else fp.co2e_g

    def correct(self, measured: Any, provisional: Any, at: float | None = None) -> None:
        """Replace a call's provisional figure by its measured one (docs/measured.md): a
        row of the differences that counts no request, so sums become the measured ones.
        The row goes to the minute of `at` (the call's end, where its provisional row went;
        default now), so a call just before midnight corrects its own day; a budget counts
        it only while that instant is in its current period."""
        d = [getattr(measured, n) - getattr(provisional, n) for n in _CORRECTED]
        now = self.clock()
        ts = at if isinstance(at, float) and math.isfinite(at) and 0 < at <= now else now
        with self._lock:
            # the same bounded labels the provisional row was written under (no energy
            # added: the ranking is by what calls were charged; today's bounds, which a
            # past instant would reset)
            labels = self.label_bounds.bound(measured.labels, 0.0, now)
            row: Row = (int(ts // 60 * 60), measured.team, measured.provider, measured.model,
                        measured.operation, labels, d[0], d[1], d[2], 0, 0, 0, *d[3:],
                        measured.grid_zone, METHOD_VERSION, measured.regime)
            self.ledger.add(row)
            for st in self._by_team.get(measured.team, ()):
                b = st.budget
                if (st.start <= ts < st.end) and (not st.narrowed or b.applies(
                        measured.labels, measured.provider, measured.model,
                        measured.operation)):
                    st.pending += d[0] if b.metric == ENERGY else d[1]

    # -- periods ---------------------------------------------------------------------
    def _roll(self, st: _State, now: float) -> None:
        """Enter the period holding `now` (caller holds the lock, or is the constructor)."""
        start, end = st.budget.period.bounds(now, self.tz)
        st.start, st.end = start, (math.inf if st.budget.period.rolling else end)
        st.key = st.budget.period.key(start)
        if not st.budget.period.rolling:
            st.base = st.inflight = st.pending = 0.0
            st.fired = None
            st.last_refresh = st.asked = -math.inf
            st.answer = None

    # -- the background cycle --------------------------------------------------------
    def _startup(self) -> None:
        """What used to delay `configure()`: save the definitions, load the totals."""
        if self.states:
            try:  # so `wattmeter budgets --ledger PATH` can show them without configuration
                self.ledger.save_budgets([st.budget.to_table() for st in self.states])
            except Exception as exc:  # an unusable ledger is reported by the cycle too
                self._fault("budget_save", "could not save budget definitions", exc)
        self.sync()

    def _ask_fleet(self, now: float) -> None:
        """Ask Prometheus for every fleet budget that is due; answers wait in `st.answer`
        for the next cycle (which never waits for them)."""
        assert self.fleet is not None
        ttl = float(self.options["fleet_ttl_s"])
        for st in self.states:
            if not st.fleet or now - st.asked < ttl:
                continue
            st.asked = now
            key, start = st.key, st.start
            if st.budget.period.rolling:
                start = st.budget.period.bounds(now, self.tz)[0]
            try:
                st.answer = (key, self.fleet.used(st.budget, start, now), None)
            except FleetError as exc:
                st.answer = (key, None, str(exc))

    def sync(self) -> None:
        """One background cycle, run now: flush, refresh totals, fire thresholds, gauges."""
        with self._sync_lock:
            now = self.clock()
            with self._lock:
                for st in self.states:
                    if now >= st.end:
                        self._roll(st, now)
                    st.inflight += st.pending
                    st.pending = 0.0
                rows = self.ledger.take()
            written = self._write(rows)
            if self.fleet is not None and not self._background:
                self._ask_fleet(now)  # no fleet thread: ask inline (tests, the CLI)
            for st in self.states:
                self._refresh(st, now, written)
            for st in self.states:
                self._thresholds(st, now)
            self._publish(now)

    def _write(self, rows: list[Row]) -> bool:
        merged: list[Row] = []
        try:
            merged = merge(rows)  # drops (and counts) rows SQLite can't store
            if merged:
                self.ledger.write_merged(merged)
        except Exception as exc:
            self.ledger.requeue(merged)  # one row per key and minute, capped
            self._fault("budget_ledger", "write failed", exc)
            return False
        if merged:
            self._recovered("budget_ledger")
        return True

    def _refresh(self, st: _State, now: float, written: bool) -> None:
        b = st.budget
        total: float | None = None
        verified = st.verified
        if b.period.rolling:
            with self._lock:
                self._roll(st, now)
        from_ledger = True
        if st.fleet:
            answer, st.answer = st.answer, None
            if answer is not None and answer[0] == st.key:
                _, total, error = answer
                if error is not None:
                    count_error("budget_fleet")
                    if st.fleet_ok is not False:
                        logger.warning("wattmeter budget %r: %s; using this host's ledger "
                                       "until it answers", b.name, error)
                    st.fleet_ok = verified = False
                else:
                    if st.fleet_ok is False:
                        logger.warning("wattmeter budget %r: Prometheus answers again",
                                       b.name)
                    st.fleet_ok = verified = True
            # no new answer: keep the last good one, or read the ledger meanwhile
            from_ledger = total is None and st.fleet_ok is not True
        if from_ledger and written:
            try:
                total = self.ledger.used(
                    b.team, st.start, st.end if st.end != math.inf else now + 60,
                    metric="energy_wh" if b.metric == ENERGY else "co2e_g",
                    provider=b.provider, model=b.model, operation=b.operation,
                    labels=b.labels)
                verified = verified if st.fleet else True
                self._recovered("budget_ledger_read")
            except Exception as exc:
                self._fault("budget_ledger_read", "read failed", exc)
                verified = False
        elif from_ledger and not st.fleet:
            verified = False
        with self._lock:
            if total is not None:
                st.base, st.inflight = total, 0.0
                st.last_refresh = now
            else:  # not re-read: what was in flight is still only ours
                st.pending += st.inflight
                st.inflight = 0.0
            st.verified = verified

    def _thresholds(self, st: _State, now: float) -> None:
        b = st.budget
        used = st.used
        try:
            if st.fired is None:
                st.fired = self.ledger.fired(b.name, st.key)
            for t in b.thresholds:
                if used >= t * b.limit and t not in st.fired:
                    st.fired.add(t)
                    if self.ledger.mark_fired(b.name, st.key, t, now):
                        self._event(st, t, used, now)
                elif b.period.rolling and used < t * b.limit and t in st.fired:
                    st.fired.discard(t)
                    self.ledger.unmark_fired(b.name, st.key, t)
        except Exception as exc:
            self._fault("budget_thresholds", f"threshold bookkeeping of {b.name!r} failed",
                        exc)

    def _event(self, st: _State, threshold: float, used: float, now: float) -> None:
        s = self._status(st, now, used)
        event = BudgetEvent(st.budget, threshold, used, st.budget.limit, st.budget.unit,
                            s.forecast, st.start, s.period_end, now)
        if {"log", "callback", "webhook"} & set(st.budget.actions):
            self.dispatcher.submit(event)

    def _status(self, st: _State, now: float, used: float | None = None) -> BudgetStatus:
        end = st.end if st.end != math.inf else now
        return status_of(st.budget, st.used if used is None else used, st.start, end, now,
                         verified=st.verified, source="prometheus" if st.fleet else "sqlite")

    def _publish(self, now: float) -> None:
        setter = self.publish
        if not self.options["prometheus"] or setter is None:
            return
        for st in self.states:
            s = self._status(st, now)
            values = (s.used, s.forecast)
            if values == st.published:
                continue
            st.published = values
            unit, limit = to_base(st.budget, s.limit)
            setter(st.budget.team, st.budget.name, unit, limit, to_base(st.budget, s.used)[1],
                   to_base(st.budget, s.forecast)[1])

    # -- reading and stopping -----------------------------------------------------------
    def status(self) -> list[BudgetStatus]:
        """Every budget's standing now (in-memory; at most one refresh interval old)."""
        _queue.flush()  # the calls finished so far count
        now = self.clock()
        with self._lock:
            for st in self.states:
                if now >= st.end:
                    self._roll(st, now)
        return [self._status(st, now) for st in self.states]

    def flush(self) -> None:
        """Write queued ledger rows and refresh totals now (what a background cycle does),
        every call finished so far included."""
        _queue.flush()
        self.sync()
