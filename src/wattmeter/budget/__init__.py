"""Budgets per team: a durable ledger, fleet totals from Prometheus, alerts, opt-in enforcement.

`Budget` objects (or tables in configuration) set an energy or CO2e limit per period.
The process-wide `manager()` tracks them: the meter core calls its ``check`` before each
request and ``record`` after each call; a background thread keeps the SQLite ledger,
fires threshold events and updates the budget gauges.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable
from typing import Any

from ._actions import BudgetEvent, post_webhook
from ._budget import ACTIONS, DEFAULT_THRESHOLDS, Budget, parse_budgets
from ._fleet import FleetSource, escape_label_value
from ._ledger import Ledger
from ._manager import _OPTIONS, BudgetManager
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


def _key(cfg: Any) -> tuple[Any, ...]:
    values = tuple(getattr(cfg, n) for n in _OPTIONS)
    return (*values, os.path.abspath(cfg.ledger_path))


def manager(cfg: Any = None, *, clock: Callable[[], float] | None = None) -> BudgetManager:
    """The process-wide budget manager for `cfg` (the current configuration by default).

    It is reused while the budget options stay the same; when they change, the old one
    is flushed and closed and a new one starts from the ledger.
    """
    from .. import _config

    cfg = cfg or _config.current()
    key = _key(cfg)
    with _lock:
        mgr: BudgetManager | None = _state["manager"]
        if mgr is not None and _state["key"] == key and clock is None:
            return mgr
        _state["manager"] = None
        if mgr is not None:
            mgr.close()
        mgr = BudgetManager(cfg) if clock is None else BudgetManager(cfg, clock=clock)
        _state["manager"], _state["key"] = mgr, key
        if not _state["hooks"]:
            _state["hooks"] = True
            atexit.register(close)
            _config.on_change(_on_config)
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_after_fork)
        return mgr


def current_manager() -> BudgetManager | None:
    """The running manager, if budgets are configured and a call was made or wired."""
    mgr: BudgetManager | None = _state["manager"]
    return mgr


def close() -> None:
    """Flush the ledger and stop the process-wide manager (runs at interpreter exit)."""
    with _lock:
        mgr, _state["manager"], _state["key"] = _state["manager"], None, None
    if mgr is not None:
        mgr.close()


def _on_config(cfg: Any) -> None:
    if not cfg.budgets and not cfg.ledger_always:
        close()


def _after_fork() -> None:
    global _lock
    _lock = threading.Lock()
    mgr = _state["manager"]
    if mgr is not None:
        mgr.after_fork()
