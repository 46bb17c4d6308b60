"""The one guard for wattmeter's own failures: log once, count, swallow.

Metering must never break the host's call. Inside the project's test suite
(``WATTMETER_STRICT=1``, set by ``tests/conftest.py``) internal errors are re-raised so
bugs are not hidden.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

__all__ = ["count_drop", "count_error", "drop_counts", "error_counts", "internal_error",
           "logger", "on_drop", "on_error", "strict"]

logger = logging.getLogger("wattmeter")

_logged: set[tuple[str, str]] = set()
#: Internal errors so far, by where they happened (read by the exporters).
error_counts: dict[str, int] = {}
_listeners: list[Callable[[str], None]] = []
#: Records dropped so far, by reason (read by the exporters as wattmeter_dropped_total).
drop_counts: dict[str, int] = {}
_drop_listeners: list[Callable[[str, int], None]] = []


def strict() -> bool:
    """True inside wattmeter's own test suite: internal errors propagate."""
    return os.environ.get("WATTMETER_STRICT") == "1"


def on_error(listener: Callable[[str], None]) -> None:
    """Call `listener(where)` for every internal error (the Prometheus exporter counts them)."""
    _listeners.append(listener)


def count_error(where: str) -> None:
    """Count a handled failure at `where` (e.g. an optional network source that is down).

    Exporters see it like an internal error; nothing is logged or re-raised, so the caller
    logs its own message once.
    """
    error_counts[where] = error_counts.get(where, 0) + 1
    for listener in _listeners:
        try:
            listener(where)
        except Exception:  # pragma: no cover - a listener must not make things worse
            pass


def on_drop(listener: Callable[[str, int], None]) -> None:
    """Call `listener(reason, n)` whenever `n` records are dropped (the exporter counts them)."""
    _drop_listeners.append(listener)


def count_drop(reason: str, n: int = 1) -> None:
    """Count `n` call records dropped for `reason` (e.g. "queue_full"); logged once."""
    if reason not in drop_counts:
        logger.warning("wattmeter dropped %d call record(s): %s (metering can't keep up; "
                       "further drops are counted in wattmeter_dropped_total{reason=%r})",
                       n, reason, reason)
    drop_counts[reason] = drop_counts.get(reason, 0) + n
    for listener in _drop_listeners:
        try:
            listener(reason, n)
        except Exception:  # pragma: no cover - a listener must not make things worse
            pass


def internal_error(where: str, exc: BaseException) -> None:
    """Record an exception raised inside wattmeter at `where`; re-raise only when strict.

    Call it from an ``except Exception`` block. The first error of each kind at each place
    is logged with its traceback; later ones are only counted.
    """
    count_error(where)
    key = (where, type(exc).__name__)
    if key not in _logged:
        _logged.add(key)
        logger.warning("wattmeter internal error in %s (metering skipped; the call is "
                       "unaffected): %r", where, exc, exc_info=exc)
    if strict():
        raise exc
