"""The budget manager's life cycle: its background threads, faults logged once, stopping
without waiting on the caller's thread, and restarting in a forked child.

`BudgetManager` inherits this; the cycle itself (`sync`, `_startup`, `_ask_fleet`) is
there. Kept apart so each file reads in one sitting.
"""

from __future__ import annotations

import threading
from typing import Any

from .. import _queue
from .._guard import count_error, internal_error, logger
from ._actions import Dispatcher
from ._fleet import FleetSource
from ._ledger import Ledger

__all__ = ["Lifecycle"]


class Lifecycle:
    """Threads and faults of a budget manager (see `BudgetManager`)."""

    options: dict[str, Any]
    ledger: Ledger
    fleet: FleetSource | None
    states: list[Any]
    dispatcher: Dispatcher
    clock: Any
    errors: list[BaseException]
    _lock: threading.Lock
    _sync_lock: threading.Lock
    _stop: threading.Event
    _thread: threading.Thread | None
    _fleet_thread: threading.Thread | None
    _background: bool
    _needs_start: bool
    _finished: bool
    _faults: set[str]

    def _startup(self) -> None:
        raise NotImplementedError

    def sync(self) -> None:
        raise NotImplementedError

    def _ask_fleet(self, now: float) -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Start the background threads (ledger cycle; fleet queries in fleet mode)."""
        self._background = True
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._finished = False
            self._thread = threading.Thread(target=self._run, name="wattmeter-budgets",
                                            daemon=True)
            self._thread.start()
        if self.fleet is not None and any(st.fleet for st in self.states) and (
                self._fleet_thread is None or not self._fleet_thread.is_alive()):
            self._fleet_thread = threading.Thread(target=self._fleet_run, daemon=True,
                                                  name="wattmeter-budgets-fleet")
            self._fleet_thread.start()

    def _start_in_child(self) -> None:
        with self._lock:
            if not self._needs_start:
                return
            self._needs_start = False
        self.start()

    def _run(self) -> None:
        try:
            self._startup()
        except Exception as exc:
            self._bg_error("budget_sync", exc)
        interval = float(self.options["ledger_flush_s"])
        while not self._stop.wait(interval):
            try:
                self.sync()
            except Exception as exc:
                self._bg_error("budget_sync", exc)
        self._finish()

    def _fleet_run(self) -> None:
        wait = max(float(self.options["fleet_ttl_s"]), float(self.options["ledger_flush_s"]))
        while not self._stop.is_set():
            try:
                self._ask_fleet(self.clock())
            except Exception as exc:
                self._bg_error("budget_fleet", exc)
            self._stop.wait(min(wait, 1.0))

    def _bg_error(self, where: str, exc: BaseException) -> None:
        self.errors.append(exc)
        try:
            internal_error(where, exc)
        except Exception:  # strict mode re-raises; a background thread must go on
            pass

    def _fault(self, where: str, what: str, exc: BaseException) -> None:
        """A failure of the ledger file: counted every time at `where`; logged once per
        episode (the first failure anywhere), until every failing place works again."""
        count_error(where)
        if not self._faults:
            logger.warning("wattmeter budget ledger %s: %s (%s: %s); totals are kept in "
                           "memory and retried every cycle; further failures are counted "
                           "in wattmeter_errors_total{where=%r}", self.ledger.path, what,
                           type(exc).__name__, exc, where)
        self._faults.add(where)

    def _recovered(self, where: str) -> None:
        if where in self._faults:
            self._faults.discard(where)
            if not self._faults:
                logger.warning("wattmeter budget ledger %s: works again", self.ledger.path)

    def stop(self) -> None:
        """Ask the background threads to stop; the cycle thread writes what is queued and
        delivers queued events as it ends (returns at once: `configure()` calls it)."""
        self._stop.set()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._finish, daemon=True,
                                            name="wattmeter-budgets-final")
            self._thread.start()

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the background threads, write what is queued, deliver queued events
        (waits up to `timeout_s`; at interpreter exit). The calls still queued come first."""
        try:
            _queue.flush()
        except Exception as exc:  # strict mode re-raises; closing must go on
            self._bg_error("queue", exc)
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() and \
                thread.is_alive():
            thread.join(timeout_s)
            if thread.is_alive():
                logger.warning("wattmeter budget ledger %s: not written within %g s at "
                               "close; %d records unwritten", self.ledger.path, timeout_s,
                               self.ledger.pending())
                return
        self._finish(timeout_s)

    def _finish(self, timeout_s: float = 5.0) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
        try:
            self.ledger.flush()
        except Exception as exc:
            self._fault("budget_ledger", "final flush failed", exc)
        self.dispatcher.close(timeout_s)

    def after_fork(self) -> None:
        """In a forked child: fresh locks, no parent rows or threads; the threads start
        again on the child's first `record()` (a child that meters nothing starts none)."""
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        stopped = self._stop.is_set()
        self._stop = threading.Event()
        if stopped:
            self._stop.set()
        self.ledger.after_fork_child()
        for st in self.states:
            st.pending = st.inflight = 0.0
            st.answer = None
        self.dispatcher = Dispatcher(self.options["webhook_url"])
        self._thread = self._fleet_thread = None
        self._finished = stopped
        self._needs_start = self._background and not stopped
