"""Budgets per team: a durable ledger, fleet totals from Prometheus, alerts, opt-in enforcement.

`Budget` objects (or tables in configuration) set an energy or CO2e limit per period.
The process-wide `manager()` tracks them: the meter core calls its ``check`` before each
request and ``record`` after each call; a background thread keeps the SQLite ledger,
fires threshold events and updates the budget gauges. Starting, replacing and stopping a
manager never waits on disk or network on the caller's thread; a forked child gets fresh
locks and starts its own threads when it first meters a call.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable
from typing import Any

from .. import _queue
from .._guard import internal_error
from ._actions import BudgetEvent, post_webhook
from ._budget import ACTIONS, DEFAULT_THRESHOLDS, Budget, parse_budgets
from ._fleet import FleetSource, escape_label_value
from ._ledger import Ledger
from ._manager import _OPTIONS, BudgetManager, Publisher
from ._period import Period, parse_period
from ._status import BudgetStatus
from ._units import parse_limit

__all__ = [
    "ACTIONS",
    "DEFAULT_THRESHOLDS",
    "Budget",
    "BudgetEvent",
    "BudgetManager",
    "BudgetStatus",
    "FleetSource",
    "Ledger",
    "Period",
    "Publisher",
    "close",
    "current_manager",
    "escape_label_value",
    "manager",
    "parse_budgets",
    "parse_limit",
    "parse_period",
    "post_webhook",
]

_lock = threading.Lock()
_state: dict[str, Any] = {"manager": None, "key": None, "hooks": False}
#: Managers replaced or switched off, finishing their last write in the background.
_retiring: list[BudgetManager] = []


def _key(cfg: Any, publish: Any) -> tuple[Any, ...]:
    values = tuple(getattr(cfg, n) for n in _OPTIONS)
    return (*values, os.path.abspath(cfg.ledger_path), publish)


def manager(cfg: Any = None, *, clock: Callable[[], float] | None = None,
            publish: Publisher | None = None) -> BudgetManager:
    """The process-wide budget manager for `cfg` (the current configuration by default).

    It is reused while the budget options stay the same; when they change, the old one
    writes what it queued and stops in the background, and a new one starts from the
    ledger. `publish` receives each budget's state for the gauges (the meter core passes
    the Prometheus exporter's). Returns at once: the ledger is opened in the background.
    """
    from .. import _config

    cfg = cfg or _config.current()
    key = _key(cfg, publish)
    with _lock:
        mgr: BudgetManager | None = _state["manager"]
        if mgr is not None and _state["key"] == key and clock is None:
            return mgr
        _state["manager"] = None
        if mgr is not None:
            _retire(mgr)
        mgr = BudgetManager(cfg, publish=publish) if clock is None else BudgetManager(
            cfg, clock=clock, publish=publish)
        _state["manager"], _state["key"] = mgr, key
        if not _state["hooks"]:
            _state["hooks"] = True
            atexit.register(close)
            _config.on_change(_on_config)
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_after_fork)
        return mgr


def _retire(mgr: BudgetManager) -> None:
    mgr.stop()
    _retiring[:] = [m for m in _retiring if m._thread is not None and m._thread.is_alive()]
    _retiring.append(mgr)


def current_manager() -> BudgetManager | None:
    """The running manager, if budgets are configured and a call was made or wired."""
    mgr: BudgetManager | None = _state["manager"]
    return mgr


def close(timeout_s: float = 5.0) -> None:
    """Flush the ledger and stop the process-wide manager (runs at interpreter exit)."""
    try:  # the calls still queued reach the ledger first
        _queue.flush()
    except Exception as exc:  # strict mode re-raises; closing must go on
        internal_error("queue", exc)
    with _lock:
        mgr, _state["manager"], _state["key"] = _state["manager"], None, None
        retiring = list(_retiring)
        _retiring.clear()
    for old in retiring:
        old.close(timeout_s)
    if mgr is not None:
        mgr.close(timeout_s)


def _on_config(cfg: Any) -> None:
    if not cfg.budgets and not cfg.ledger_always:
        with _lock:
            mgr, _state["manager"], _state["key"] = _state["manager"], None, None
            if mgr is not None:
                _retire(mgr)


def _after_fork() -> None:
    global _lock
    _lock = threading.Lock()
    _retiring.clear()  # their threads are the parent's
    mgr = _state["manager"]
    if mgr is not None:
        mgr.after_fork()
