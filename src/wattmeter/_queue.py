"""The record queue: a finished call appends one small record here and returns; one
background thread turns queued records into footprints and hands them to the sinks.

The caller's thread pays a bounded ``deque.append`` (atomic under the GIL, no lock). The
meter core registers the function that processes a batch (`set_drainer`); it runs on the
``wattmeter-records`` thread within `INTERVAL_S` of a record arriving (it sleeps while the
queue is empty; it starts when the meter core is wired, loading the estimates first, or
else on the first record), sooner when the queue fills, and on the
reading thread whenever something reads the figures: `flush()` (public as
``wattmeter.flush``), a Prometheus scrape, ``testing.capture``, the budget ledger's
flush and close, and interpreter exit. When the queue is full, the caller processes its
own record at once (the cost of a call before the queue existed; nothing is lost and
nothing waits on the background thread), or with ``overflow="drop"`` drops it and counts
it in ``wattmeter_dropped_total{reason="queue_full"}``; records still queued when the
exit drain runs out of time are counted as ``reason="exit_timeout"``. A fork waits for a
batch in progress (so no lock or import is held half-way in the child); the child starts
with an empty queue (the parent's records are the parent's to process) and starts its
own thread on its first record. This module sits below every layer, so the exporters
and the budget manager can drain it before they read.
"""

from __future__ import annotations

import atexit
import itertools
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from . import _guard

__all__ = ["BATCH", "INTERVAL_S", "MAX_RECORDS", "OVERFLOW", "QUICK_BELOW", "RECORDS",
           "SETTLE_AT", "drain_before_exit_handlers", "dropped", "flush", "pending", "put",
           "set_drainer", "set_limit", "start"]

#: Records waiting at most (a record keeps its call and usage alive: about 450 bytes, so
#: ~7 MB when full; ~0.15 s of the background thread's work).
MAX_RECORDS = 16_384
#: Queue length past which a finishing call reads its usage block itself rather than
#: leaving it to the background thread (`Usage.settle`): a kept block is ~2.2 KB, so at
#: most ~2.2 MB of them wait.
SETTLE_AT = 1_024
#: How long the background thread gathers records after the first arrives, in seconds.
INTERVAL_S = 0.05
#: Records taken per batch (the drain lock is released between batches).
BATCH = 512
#: Queue length at which a caller wakes the thread early (one Event.set per crossing; the
#: first record into an empty queue sets it too, once per drain).
_WAKE_AT = 1_024

_records: deque[Any] = deque()
#: The queue itself, for a caller that appends without `put` (see `QUICK_BELOW`).
RECORDS = _records
#: [n]: while 0 < len(RECORDS) < n, `put` would only append (the thread runs, nothing to
#: wake, settle or refuse), so a caller may append itself: the meter's plain path does,
#: a Python frame fewer per call (issue 19). Kept below the limit, `_WAKE_AT`, `SETTLE_AT`.
QUICK_BELOW = [min(MAX_RECORDS, _WAKE_AT, SETTLE_AT)]
#: Held while a batch is processed, so `flush()` returns only after every record queued
#: before it reached the sinks (reentrant: a sink may read the figures).
_lock = threading.RLock()
_drops = itertools.count()  # next() is atomic under the GIL: safe from many callers
_state: dict[str, Any] = {"drainer": None, "thread": None, "limit": MAX_RECORDS,
                          "inline": True, "published": 0, "exit": False}
#: What a full queue does with a new record: process it on the caller's thread, or drop it.
OVERFLOW = ("inline", "drop")
_wake = threading.Event()


def set_drainer(drainer: Callable[[list[Any]], None]) -> None:
    """Register the function that processes a batch of records (the meter core's)."""
    _state["drainer"] = drainer


def set_limit(limit: int = MAX_RECORDS, overflow: str = "inline") -> None:
    """Bound the queue to `limit` records and choose what a full queue does (`OVERFLOW`):
    ``"inline"`` processes the new record on the caller's thread, ``"drop"`` counts it."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"set_limit(limit=...): got {limit!r}; expected an integer >= 1")
    if overflow not in OVERFLOW:
        raise ValueError(f"set_limit(overflow=...): got {overflow!r}; expected 'inline' or "
                         "'drop'")
    _state["limit"], _state["inline"] = limit, overflow == "inline"
    QUICK_BELOW[0] = min(limit, _WAKE_AT, SETTLE_AT)


def put(record: Any) -> int:
    """Queue one record (the caller's thread: no lock, no I/O, never blocks); returns how
    many were queued before it, or 0 when a full queue processed or dropped it at once."""
    records = _records
    n = len(records)
    if n >= _state["limit"]:
        drainer = _state["drainer"]
        if _state["inline"] and drainer is not None:
            drainer([record])  # guarded per record inside; no lock of ours is taken
        else:
            next(_drops)
        return 0  # not queued: nothing of it waits
    records.append(record)
    thread = _state["thread"]
    if thread is None:
        _start()
    elif n == 0 or n == _WAKE_AT:  # the first record after a drain wakes an idle thread
        _wake.set()
    return n


def pending() -> int:
    """Records queued and not yet processed."""
    return len(_records)


def dropped() -> int:
    """Records dropped because the queue was full, since the process started (or forked)."""
    return _state["published"] + _unpublished()


def _unpublished() -> int:
    # The counter's repr shows its next value; reading it doesn't advance it.
    return int(repr(_drops)[6:-1]) - _state["published"]


def flush() -> int:
    """Process every record queued so far on this thread; returns how many were processed.

    Metrics, the budget ledger's queue, spans' metrics and `testing.capture` then show
    every call finished before the flush (the ledger file itself is written by its own
    cycle, or by ``wattmeter.budget.current_manager().flush()``).
    """
    done = 0
    with _lock:
        while _records:
            done += _drain_batch()
        _publish_drops()
    return done


def _drain_batch() -> int:
    """Take up to `BATCH` records and hand them to the drainer (caller holds `_lock`)."""
    records = _records
    popleft = records.popleft
    batch = []
    try:
        for _ in range(BATCH):
            batch.append(popleft())
    except IndexError:
        pass
    drainer = _state["drainer"]
    if batch and drainer is not None:
        try:
            drainer(batch)
        except Exception as exc:  # the drainer guards each record; this is a bug there
            _guard.internal_error("queue", exc)
    return len(batch)


def _publish_drops() -> None:
    n = _unpublished()
    if n > 0:
        _state["published"] += n
        _guard.count_drop("queue_full", n)


def start(warmup: Callable[[], object] | None = None) -> None:
    """Start the background thread now, not on the first record, running `warmup` first.

    The meter core passes its warm-up (`wire()`, `instrument()`): the estimate's modules
    and data files, loaded before traffic arrives. Beside a caller that never waits on
    I/O, the first batch, which loaded them, came out after 1.2 s (sampled, the thread sat
    in those imports' file reads) and the queue filled past `SETTLE_AT` (issue 19). It
    holds the drain lock, so a fork waits for it as for a batch (no import half-done)."""
    if _state["thread"] is None:
        if warmup is not None:  # a running thread was warmed, or has processed records
            _state["warmup"] = warmup
        _start()


def _run() -> None:
    wake = _wake
    warmup = _state.pop("warmup", None)
    if warmup is not None:
        with _lock:  # a fork waits for it as for a batch: no import half-done in the child
            try:
                warmup()
            except Exception as exc:  # a failed warm-up changes nothing but the first batch
                try:
                    _guard.internal_error("queue.warmup", exc)
                except Exception:
                    pass
        wake.clear()  # a record's wake during the warm-up: the loop sees the record itself
    while True:
        if not _records:  # idle: sleep until a record arrives (no periodic wake-ups)
            # First for INTERVAL_S: a caller that read the length just before a drain
            # emptied the queue appends without waking the thread (`put`, `QUICK_BELOW`).
            if not wake.wait(INTERVAL_S) and not _records:
                wake.wait()
            wake.clear()
        # then gather a batch for up to INTERVAL_S (sooner once `_WAKE_AT` are queued)
        if len(_records) < _WAKE_AT:
            wake.wait(INTERVAL_S)
            wake.clear()
        try:
            while _records:  # the lock is let go between batches, so a fork never waits long
                with _lock:
                    _drain_batch()
            with _lock:
                _publish_drops()
        except Exception as exc:  # strict mode re-raises; the thread must go on
            try:
                _guard.internal_error("queue", exc)
            except Exception:
                pass


def _start() -> None:
    with _start_lock:
        if _state["thread"] is not None:
            return
        thread = threading.Thread(target=_run, name="wattmeter-records", daemon=True)
        _state["thread"] = thread
        thread.start()
    if not _state["exit"]:
        _state["exit"] = True
        atexit.register(_at_exit)


_start_lock = threading.Lock()


def drain_before_exit_handlers() -> None:
    """Make the exit drain run before every exit handler registered so far (``atexit`` runs
    the last registered first): an OpenTelemetry provider made after our first record
    registered its shutdown after our drain, and would be shut before our queued spans end."""
    if _state["exit"]:
        atexit.unregister(_at_exit)
        atexit.register(_at_exit)


def _at_exit() -> None:
    """Drain what is queued at interpreter exit, waiting at most 5 s for a batch in progress."""
    if _lock.acquire(timeout=5.0):
        try:
            flush()
        finally:
            _lock.release()
        return
    n = len(_records)
    _records.clear()
    if n:
        _guard.count_drop("exit_timeout", n)


def _before_fork() -> None:
    # Bounded: a batch takes milliseconds; a drain stuck longer is not waited for.
    if _lock.acquire(timeout=2.0):
        _held.append(_lock)


def _after_fork_parent() -> None:
    while _held:
        _held.pop().release()


_held: list[Any] = []


def _after_fork_child() -> None:
    global _lock, _start_lock, _wake
    _held.clear()
    _records.clear()  # the parent's records: its own thread processes them
    _lock = threading.RLock()
    _start_lock = threading.Lock()
    _wake = threading.Event()
    _state["thread"] = None  # started again by the child's first record


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_parent,
                        after_in_child=_after_fork_child)
