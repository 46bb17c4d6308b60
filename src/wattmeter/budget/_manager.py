"""The budget manager: in-memory totals on the call path, ledger and events in the background.

`check()` (before a request) is a dict lookup plus, for the team's budgets with the
``raise`` action, one comparison each. `record()` (after a call) adds to in-memory totals
and queues a ledger row. One background thread flushes the ledger, refreshes each
budget's use from the ledger (or Prometheus in fleet mode), fires threshold events once
per period (remembered in the ledger, so restarts don't repeat them) and updates gauges.

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

from .._errors import BudgetExceededError
from .._guard import count_error, internal_error, logger
from .._version import METHOD_VERSION
from ._actions import BudgetEvent, Dispatcher
from ._budget import Budget
from ._fleet import FleetError, FleetSource, budget_supported
from ._ledger import Ledger, Row
from ._status import BudgetStatus, status_of, to_base
from ._units import ENERGY, format_amount

__all__ = ["BudgetManager"]

_OPTIONS = ("budgets", "ledger", "ledger_always", "ledger_path", "ledger_flush_s", "prometheus_url",
            "fleet_ttl_s", "fleet_timeout_s", "fail_closed", "timezone", "webhook_url",
            "prometheus")


class _State:
    """One budget's running totals in the current period."""

    __slots__ = ("base", "budget", "end", "fired", "fleet", "inflight", "key", "last_refresh",
                 "narrowed", "pending", "published", "start", "verified")

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

    @property
    def used(self) -> float:
        return self.base + self.inflight + self.pending


class BudgetManager:
    """Tracks every configured budget for this process; see the module docstring."""

    def __init__(self, cfg: Any = None, *, clock: Callable[[], float] = time.time,
                 background: bool = True, **overrides: Any) -> None:
        from zoneinfo import ZoneInfo

        from .. import _config

        opts = {n: getattr(cfg, n) if cfg is not None else _config.OPTIONS[n].default
                for n in _OPTIONS}
        opts.update({k: _config.validate(k, v) for k, v in overrides.items()})
        self.options = opts
        self.clock = clock
        self.tz = ZoneInfo(opts["timezone"])
        self.fail_closed = bool(opts["fail_closed"])
        self.ledger = Ledger(os.path.abspath(opts["ledger_path"]))
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
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[BaseException] = []  # background failures (strict mode re-raises)
        if self.states:
            try:  # so `wattmeter budgets --ledger PATH` can show them without configuration
                self.ledger.save_budgets([st.budget.to_table() for st in self.states])
            except Exception as exc:  # an unusable ledger is reported by the cycle below
                logger.warning("wattmeter: could not save budget definitions to %s: %r",
                               self.ledger.path, exc)
                count_error("budget_save")
        now = clock()
        for st in self.states:
            self._roll(st, now)
        self.sync()  # initial totals, thresholds and gauges, before the first call
        if background:
            self.start()

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
        now = self.clock()
        row: Row = (int(now // 60 * 60), fp.team, fp.provider, fp.model, fp.operation,
                    fp.labels, fp.energy_wh, fp.co2e_g, fp.accelerator_wh, 1,
                    fp.input_tokens, fp.output_tokens,  # labels: JSON in the writer
                    fp.co2e_g_low, fp.co2e_g_high, fp.co2e_embodied_g,
                    fp.co2e_embodied_g_low, fp.co2e_embodied_g_high, fp.water_ml,
                    fp.water_ml_low, fp.water_ml_high, fp.adpe_kgsbeq, fp.grid_zone,
                    METHOD_VERSION)
        states = self._by_team.get(fp.team, ())
        with self._lock:
            self.ledger.add(row)
            for st in states:
                b = st.budget
                if not st.narrowed or b.applies(fp.labels, fp.provider, fp.model,
                                                fp.operation):
                    if now >= st.end:
                        self._roll(st, now)
                    st.pending += fp.energy_wh if b.metric == ENERGY else fp.co2e_g

    # -- periods ---------------------------------------------------------------------
    def _roll(self, st: _State, now: float) -> None:
        """Enter the period holding `now` (caller holds the lock, or is the constructor)."""
        start, end = st.budget.period.bounds(now, self.tz)
        st.start, st.end = start, (math.inf if st.budget.period.rolling else end)
        st.key = st.budget.period.key(start)
        if not st.budget.period.rolling:
            st.base = st.inflight = st.pending = 0.0
            st.fired = None
            st.last_refresh = -math.inf

    # -- the background cycle ----------------------------------------------------------
    def start(self) -> None:
        """Start the background thread (flush, refresh, events, gauges)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="wattmeter-budgets",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        interval = float(self.options["ledger_flush_s"])
        while not self._stop.wait(interval):
            try:
                self.sync()
            except Exception as exc:
                self._bg_error("budget_sync", exc)

    def _bg_error(self, where: str, exc: BaseException) -> None:
        self.errors.append(exc)
        try:
            internal_error(where, exc)
        except Exception:  # strict mode re-raises; a background thread must go on
            pass

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
            for st in self.states:
                self._refresh(st, now, written)
            for st in self.states:
                self._thresholds(st, now)
            self._publish(now)

    def _write(self, rows: list[Row]) -> bool:
        try:
            self.ledger.write(rows)
            return True
        except Exception as exc:
            with self.ledger._queue_lock:
                self.ledger._queue[:0] = rows
            count_error("budget_ledger")
            logger.warning("wattmeter budget ledger %s: write failed (%r); totals are kept "
                           "in memory and the write retried", self.ledger.path, exc)
            return False

    def _refresh(self, st: _State, now: float, written: bool) -> None:
        b = st.budget
        ttl = float(self.options["fleet_ttl_s"]) if st.fleet else 0.0
        total: float | None = None
        verified = st.verified
        if now - st.last_refresh >= ttl:
            if b.period.rolling:
                with self._lock:
                    self._roll(st, now)
            if st.fleet:
                assert self.fleet is not None
                try:
                    total = self.fleet.used(b, st.start, now)
                    if not st.verified:
                        logger.warning("wattmeter budget %r: Prometheus answers again",
                                       b.name)
                    verified = True
                except FleetError as exc:
                    count_error("budget_fleet")
                    if st.verified:
                        logger.warning("wattmeter budget %r: %s; using this host's ledger "
                                       "until it answers", b.name, exc)
                    verified = False
            if total is None and written:
                try:
                    total = self.ledger.used(
                        b.team, st.start, st.end if st.end != math.inf else now + 60,
                        metric="energy_wh" if b.metric == ENERGY else "co2e_g",
                        provider=b.provider, model=b.model, operation=b.operation,
                        labels=b.labels)
                    verified = verified if st.fleet else True
                except Exception as exc:
                    count_error("budget_ledger")
                    logger.warning("wattmeter budget ledger %s: read failed (%r)",
                                   self.ledger.path, exc)
                    verified = False
            elif total is None:
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
            count_error("budget_thresholds")
            logger.warning("wattmeter budget %r: threshold bookkeeping failed (%r)",
                           b.name, exc)

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
        if not self.options["prometheus"]:
            return
        try:
            from ..export import prometheus as prom

            setter = getattr(prom, "set_budget_status", None)
        except Exception:  # pragma: no cover - the exporter missing must not stop budgets
            return
        if setter is None:
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
        now = self.clock()
        with self._lock:
            for st in self.states:
                if now >= st.end:
                    self._roll(st, now)
        return [self._status(st, now) for st in self.states]

    def flush(self) -> None:
        """Write queued ledger rows and refresh totals now (what a background cycle does)."""
        self.sync()

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the background thread, write what is queued, deliver queued events."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        try:
            self.ledger.flush()
        except Exception as exc:
            count_error("budget_ledger")
            logger.warning("wattmeter budget ledger %s: final flush failed (%r)",
                           self.ledger.path, exc)
        self.dispatcher.close(timeout_s)

    def after_fork(self) -> None:
        """In a forked child: drop the parent's queued rows and threads, start afresh."""
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self.ledger = Ledger(self.ledger.path)
        for st in self.states:
            st.pending = st.inflight = 0.0
        self.dispatcher = Dispatcher(self.options["webhook_url"])
        self._thread = None
        if not self._stop.is_set():
            self.start()
