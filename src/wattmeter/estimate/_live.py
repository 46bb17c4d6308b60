"""Live grid carbon intensity from Electricity Maps: off by default, cached, never blocking.

With ``live_intensity`` and ``electricity_maps_token`` configured, `cached_intensity` answers
from a per-zone cache; a missing or stale entry starts one background refresh (``requests``
with ``live_intensity_timeout_s``) and the caller uses the previous value or the static
table meanwhile. Any failure drops that zone back to the static table for one TTL, logs one
warning (never the token) and is counted as a ``live_intensity`` error.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from .. import _config, _guard
from ._zones import zone_intensity

__all__ = ["cached_intensity", "enabled", "on_live_update", "refresh", "wait"]

WHERE = "live_intensity"


class _Settings(NamedTuple):
    enabled: bool
    token: str
    url: str
    ttl: float
    timeout: float
    generation: int


_settings: _Settings | None = None
_generation = 0
_lock = threading.Lock()
_values: dict[str, tuple[float, float]] = {}  # live zone -> (gCO2e/kWh, fetched at, monotonic)
_retry_after: dict[str, float] = {}  # live zone -> no new attempt before (monotonic)
_threads: dict[str, threading.Thread] = {}  # refreshes in flight, by live zone
_zone_keys: dict[str, str] = {}  # zone as the caller spelled it -> live zone ("" for none)
_warned: set[str] = set()
_callbacks: list[Callable[[], None]] = []


def on_live_update(callback: Callable[[], None]) -> None:
    """Call `callback()` whenever a live value arrives, changes or is dropped, so caches
    built from `intensity_for` (per-model coefficients) can be rebuilt."""
    _callbacks.append(callback)


def _notify() -> None:
    for callback in list(_callbacks):
        try:
            callback()
        except Exception as exc:  # a cache owner's bug must not stop the refresh thread
            try:
                _guard.internal_error(WHERE, exc)
            except Exception:
                pass


def _load() -> _Settings:
    global _settings
    cfg = _config.current()
    token = cfg.electricity_maps_token or ""
    on = bool(cfg.live_intensity)
    if on and not token and "no-token" not in _warned:
        _warned.add("no-token")
        _guard.logger.warning("wattmeter: live_intensity is on but electricity_maps_token is "
                              "not set; using the static grid intensity table")
    s = _Settings(on and bool(token), token, str(cfg.electricity_maps_url).rstrip("/"),
                  float(cfg.live_intensity_ttl_s), float(cfg.live_intensity_timeout_s),
                  _generation)
    _settings = s
    return s


def _on_config_change(_cfg: Any) -> None:
    global _settings, _generation
    with _lock:
        _generation += 1
        _settings = None
        _values.clear()
        _retry_after.clear()
        _zone_keys.clear()


_config.on_change(_on_config_change)


def _after_fork_child() -> None:
    """In a forked child the parent's refresh threads don't exist: forget them (else their
    zones would never refresh again) and take a fresh lock; the next stale read restarts
    a refresh."""
    global _lock
    _lock = threading.Lock()
    _threads.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_child)


def enabled() -> bool:
    """True when live intensity is configured (``live_intensity`` and a token)."""
    s = _settings
    if s is None:
        s = _load()
    return s.enabled


def _live_zone(zone: str) -> str:
    key = _zone_keys.get(zone)
    if key is None:
        try:
            key = zone_intensity(zone).live_zone
        except ValueError:
            key = ""
        if len(_zone_keys) < 1024:
            _zone_keys[zone] = key
    return key


def cached_intensity(zone: str) -> float | None:
    """The live intensity of `zone` if one is cached (possibly stale), else None.

    A missing or stale value schedules a background refresh; this never waits for it.
    """
    s = _settings or _load()
    if not s.enabled:
        return None
    key = _live_zone(zone)
    if not key:
        return None
    entry = _values.get(key)
    now = time.monotonic()
    if entry is None or now - entry[1] >= s.ttl:
        _schedule(key, s, now)
    return entry[0] if entry is not None else None


def _schedule(key: str, s: _Settings, now: float) -> None:
    with _lock:
        if key in _threads or now < _retry_after.get(key, 0.0):
            return
        thread = threading.Thread(target=_fetch, args=(key, s), daemon=True,
                                  name=f"wattmeter-live-intensity-{key}")
        _threads[key] = thread
    thread.start()


def _fetch(key: str, s: _Settings) -> float | None:
    try:
        value = _request(key, s)
    except Exception as exc:
        with _lock:
            dropped = False
            if s.generation == _generation:
                dropped = _values.pop(key, None) is not None
                _retry_after[key] = time.monotonic() + s.ttl
        if dropped:
            _notify()
        _guard.count_error(WHERE)
        if WHERE not in _warned:
            _warned.add(WHERE)
            _guard.logger.warning(
                "wattmeter: live grid intensity from Electricity Maps is unavailable for zone "
                "%s (%s); using the static table (retrying after %g s)", key, _describe(exc),
                s.ttl)
        return None
    else:
        with _lock:
            changed = False
            if s.generation == _generation:
                old = _values.get(key)
                changed = old is None or old[0] != value
                _values[key] = (value, time.monotonic())
                _retry_after.pop(key, None)
        if changed:
            _notify()
        return value
    finally:
        with _lock:
            if _threads.get(key) is threading.current_thread():
                del _threads[key]


class LiveIntensityError(Exception):
    """Electricity Maps answered, but not with a usable intensity."""


def _request(key: str, s: _Settings) -> float:
    import requests

    resp = requests.get(f"{s.url}/carbon-intensity/latest", params={"zone": key},
                        headers={"auth-token": s.token}, timeout=s.timeout)
    if resp.status_code != 200:
        raise LiveIntensityError(f"HTTP {resp.status_code}")
    try:
        value = float(resp.json()["carbonIntensity"])
    except (ValueError, KeyError, TypeError):
        raise LiveIntensityError("no carbonIntensity number in the response") from None
    if not (math.isfinite(value) and 0.0 <= value <= 5000.0):
        raise LiveIntensityError(f"carbonIntensity out of range: {value!r}")
    return value


def _describe(exc: BaseException) -> str:
    if isinstance(exc, LiveIntensityError):
        return str(exc)
    name = type(exc).__name__
    return "timed out" if "Timeout" in name else name


def refresh(zone: str) -> float | None:
    """Fetch `zone`'s live intensity now, in this thread (for the CLI and tests).

    Returns the value, or None when live intensity is off, the zone has no live source, or
    the request failed (the failure is handled as in the background path).
    """
    s = _settings or _load()
    key = _live_zone(zone)
    if not s.enabled or not key:
        return None
    return _fetch(key, s)


def wait(timeout: float = 5.0) -> bool:
    """Wait for background refreshes in flight; True if none is left (for tests)."""
    deadline = time.monotonic() + timeout
    while True:
        with _lock:
            threads = list(_threads.values())
        if not threads:
            return True
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if time.monotonic() >= deadline:
            with _lock:
                return not _threads
