"""`estimate()` and `footprint_for()`: a cached coefficient lookup, a few multiplications.

Coefficients are looked up per (model, provider, operation, deployment, zone, intensity,
PUE), built once per set of facts that determines them (every name of one resolved model
shares them) and dropped when the configuration or the model registry changes, or, for those whose
grid intensity came from a zone, when that zone's live intensity arrives or changes.
Precedence: explicit argument > `Deployment` field > configuration > provider defaults.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import _config
from .._footprint import EMPTY_LABELS, Footprint
from .._usage import Usage
from . import _arith
from ._arith import energy as _energy
from ._arith import footprint as _footprint
from ._calibration import RATIOS as _ratios
from ._calibration import calibrated as _calibrated
from ._charging import ceiling_warning, produced
from ._coef_build import _classes, _mods
from ._coef_build import make as _make
from ._records import Deployment, ModelSpec
from ._sanitize import (
    MAX_TOKENS,
    check_count,
    check_media,
    counts,
    evict_oldest,
    media,
    model_name,
)

if TYPE_CHECKING:
    from ._coefficients import Coef

__all__ = ["clear_cache", "estimate", "footprint_for"]

_cache: dict[Any, Coef] = {}
#: When each cached key last asked for its zone's intensity; inf: a fixed intensity.
_built: dict[Any, float] = {}
#: Cached keys whose intensity is `intensity_for(zone)` (may go live), -> that zone.
_live_zones: dict[Any, str] = {}
_state: dict[str, Any] = {"hooked": False, "live_updates": 0, "epoch": 0}
#: Epoch seconds bounding the span of effective dates "now" falls in: a metered call's
#: timestamp inside it uses the undated coefficients (`_regime.epoch`).
_now_span = [-float("inf"), float("inf")]
_live_ttl = 0.0  # live intensity on: seconds between asking a key's zone again; 0: off
_INF = float("inf")
#: Cached keys; an entry of a name guessed by size class shares that class's coefficients
#: (a small tuple of references), so 16,384 names cost about 3 MB, not 16,384 Monte Carlo runs.
_CACHE_SIZE = 16_384
_MAX_TOKENS = MAX_TOKENS
#: The model's own operation for `estimate()` calls that give none: (model, provider) -> op.
_default_ops: dict[Any, str] = {}
#: Length of one block of `Coef.life` (`_lifecycle.LIFE_SIZE`; kept here: no import per call).
_LIFE = 9
#: Bound by `_hook()` (before any coefficient exists) so a call runs no import.
_intensity_for: Any = None
_regime: Any = None
#: Most server joules one metered call is charged (physics.json `call_ceiling_server_j`).
_max_call_j = _INF


def clear_cache(*_: Any) -> None:
    """Forget every cached coefficient (configuration or registry changed)."""
    global _live_ttl
    _cache.clear()
    _built.clear()
    _live_zones.clear()
    _classes.clear()
    _default_ops.clear()
    cfg = _config.current()
    _live_ttl = float(cfg.live_intensity_ttl_s) if cfg.live_intensity else 0.0
    if _regime is not None:
        _state["epoch"] = ep = _regime.epoch(time.time())
        _now_span[:] = _regime.epoch_span(ep)


def _on_live_update() -> None:
    """A live intensity arrived, changed or was dropped (`_live` thread): drop the cached
    coefficients whose zone's intensity now differs; they rebuild on their next call."""
    _state["live_updates"] += 1
    for key, zone in list(_live_zones.items()):
        c = _cache.get(key)
        if c is not None and _intensity_for(zone) != c.intensity:
            _cache.pop(key, None)
            _built.pop(key, None)
            _live_zones.pop(key, None)


def _hook() -> None:
    global _intensity_for, _regime, _max_call_j
    from . import _regime as regime_module
    from ._coefficients import components
    from ._grid import intensity_for
    from ._live import on_live_update
    from ._physics import constants
    from ._registry import on_registry_change

    _arith._components = components
    _intensity_for = intensity_for
    _regime = _mods["regime"] = regime_module
    _arith._speech.update(constants("speech"))
    _max_call_j = float(constants("overhead")["call_ceiling_server_j"])
    _config.on_change(clear_cache)
    on_registry_change(clear_cache)
    on_live_update(_on_live_update)
    from . import _coefficients, _grid, _market, _resolve

    _mods["market"] = _market.market_factor

    _mods["coefficients"] = _coefficients
    _mods["grid"] = (_grid.intensity_for, _grid.provider_defaults, _grid.zone_intensity)
    _mods["resolve"] = (_resolve.check_deployment, _resolve.check_operation, _resolve.num,
                        _resolve.resolve, _resolve.determinants)
    clear_cache()  # sets today's span of effective dates, read as soon as hooked is seen
    _state["hooked"] = True


def _import_before_fork() -> None:
    """Finish the estimate layer's lazy imports before a fork: a child forked while another
    thread was part-way through them (its first metered call, `_hook`) inherits that
    module's import lock held by a thread it doesn't have, and hangs on its own first call.
    Importing here waits for such an import to end; `import wattmeter` stays cheap. Every
    module of the layer is listed (`LAZY_MODULES`; a test holds the list complete): one
    left out (`_market`) hung a child."""
    import importlib

    for name in LAZY_MODULES:
        importlib.import_module(f"{__package__}.{name}")
    for name in LAZY_STDLIB:
        importlib.import_module(name)


#: The estimate layer's modules imported on first use (see `_import_before_fork`).
LAZY_MODULES = ("_aliases", "_anchor", "_coefficients", "_diffusion", "_grid", "_hardware",
                "_hold", "_kinds", "_lifecycle", "_live", "_market", "_model_entries",
                "_name_facts", "_names", "_physics", "_regime", "_registry", "_resolve", "_text",
                "_zones")
#: Standard-library modules the first call imports inside functions (the configuration's
#: file reader: a child forked mid-`import tomllib` hung 1 time in 10 without caches).
LAZY_STDLIB = ("difflib", "json", "pathlib", "tomllib", "zoneinfo")


os.register_at_fork(before=_import_before_fork)


def _coef(model: Any, provider: str | None, operation: str, deployment: Any = None,
          zone: str | None = None, grid_intensity: float | None = None,
          pue: float | None = None, when: float | None = None) -> Coef:
    """The cached coefficients of a key, built (and cached) on a miss; a call dated
    (`when`) outside today's span of effective dates is keyed by its span.

    With live intensity on, a key whose zone was last asked more than the TTL ago asks
    again (which starts a background refresh when due) and is rebuilt if the answer moved.
    """
    key: tuple[Any, ...] = (model, provider, operation, deployment, zone, grid_intensity, pue)
    if when is not None:
        if not _state["hooked"]:
            _hook()
        key += ("epoch", _regime.epoch(when))
    try:
        c = _cache[key]
        if not _live_ttl:
            return c
        now = time.monotonic()
        if now - _built[key] < _live_ttl:
            return c
        _built[key] = now
        if _intensity_for(_live_zones[key]) == c.intensity:
            return c
    except (KeyError, TypeError):
        pass
    if not _state["hooked"]:
        _hook()
    updates = _state["live_updates"]
    c, live = _make(model, provider, operation, deployment, zone, grid_intensity, pue, when)
    if len(_cache) >= _CACHE_SIZE:
        evict_oldest(_cache, _built, _live_zones, limit=_CACHE_SIZE)
    try:
        if live is None:
            _built[key] = _INF
        else:
            _live_zones[key] = live
            # a live value that arrived during the build: ask again on the next call
            _built[key] = time.monotonic() if updates == _state["live_updates"] else -_INF
        _cache[key] = c
    except TypeError:  # unhashable deployment mapping: don't cache
        pass
    return c


def estimate(model: str | ModelSpec, provider: str | None = None,
             operation: str | None = None, *,
             input_tokens: int = 0, output_tokens: int = 0, cached_input_tokens: int = 0,
             reasoning_tokens: int = 0, images: int | None = None, width: int | None = None,
             height: int | None = None, steps: int | None = None, frames: int | None = None,
             seconds: float | None = None, fps: float | None = None,
             characters: int | None = None, audio_seconds: float | None = None,
             deployment: Deployment | None = None, zone: str | None = None,
             grid_intensity: float | None = None, pue: float | None = None,
             grid_zone: str | None = None, date: Any = None) -> Footprint:
    """Estimate the energy and CO2e of one generative call (see DESIGN.md and docs/methodology.md).

    ``input_tokens`` includes ``cached_input_tokens`` and ``output_tokens`` includes
    ``reasoning_tokens``; when ``reasoning_tokens`` exceeds ``output_tokens`` they were
    counted separately and their sum is decoded. Without ``operation``, the registered
    model's modality is used ("image" for FLUX.1-dev), else "chat". ``date`` (a date,
    datetime, ISO text or epoch seconds; default now) picks the provider fleet in effect
    then. ``grid_zone`` is another name for ``zone`` (the configuration's name). Bad input
    raises ``ValueError``.
    """
    if grid_zone is not None:
        if zone is not None and zone != grid_zone:
            raise ValueError(f"grid_zone: got {grid_zone!r} and zone={zone!r}; they are one "
                             "setting: give one of them")
        zone = grid_zone
    if type(model) is str and len(model) > 200:
        model = model_name(model)  # cut: a 10 MB name is no key to cache
    if operation is None:
        operation = _operation_of(model, provider)
    it, ot, ct, rt = input_tokens, output_tokens, cached_input_tokens, reasoning_tokens
    if type(it) is not int or not 0 <= it <= _MAX_TOKENS:
        it = check_count("input_tokens", it)
    if type(ot) is not int or not 0 <= ot <= _MAX_TOKENS:
        ot = check_count("output_tokens", ot)
    if type(ct) is not int or not 0 <= ct <= it:
        ct = check_count("cached_input_tokens", ct)
        if ct > it:
            raise ValueError(f"cached_input_tokens: got {ct}, more than input_tokens ({it}); "
                             "input_tokens includes the cached ones")
    if type(rt) is not int or not 0 <= rt <= _MAX_TOKENS:
        rt = check_count("reasoning_tokens", rt)
    if (images is not None or width is not None or height is not None or steps is not None
            or frames is not None or seconds is not None or fps is not None
            or characters is not None or audio_seconds is not None):
        images, width, height, steps, frames, seconds, fps, characters, audio_seconds = check_media(
            images, width, height, steps, frames, seconds, fps, characters, audio_seconds)
    ts = 0.0
    when = None
    if date is not None:
        if not _state["hooked"]:
            _hook()
        ts = _regime.timestamp_of(date)
        if not _now_span[0] <= ts < _now_span[1]:
            when = ts
    key = (model, provider, operation, deployment, zone, grid_intensity, pue)
    try:
        if when is not None:
            raise KeyError
        c = _cache[key]
        if _live_ttl:
            c = _coef(model, provider, operation, deployment, zone, grid_intensity, pue)
    except (KeyError, TypeError):
        c = _coef(model, provider, operation, deployment, zone, grid_intensity, pue, when)
    (kind, name, cprov, p, _, _, _, _, _, r, warns, _, req_j, lf, _, _, _, _) = c
    if kind == "text":  # inlined hot path of _energy()
        out = ot if rt <= ot else ot + rt
        unc = it - ct
        (pt, pp, pc, m0, m1, c0, c1, t0, iw, dw, wm, wc, _, _, b0) = p
        e0 = unc * (pt + pp * (ct + 0.5 * unc)) + ct * pc + req_j
        if out > 0:
            ctx = it + 0.5 * out
            tm = m0 + m1 * ctx
            tc = c0 + c1 * ctx
            t = (tm if tm > tc else tc) + t0
            u = (wm * tm + wc * tc + b0) / t
            e1 = out * (iw + (u if u < 1.0 else 1.0) * dw) * t
        else:
            e1 = 0.0
    else:
        sec = seconds if kind == "diffusion" else (
            audio_seconds if audio_seconds is not None else seconds)
        e0, e1, known = _energy(c, it, ot, ct, rt, width, height, steps, frames, fps, sec,
                                images, characters)
        if known and len(r) > 16:
            r = r[16:]
            lf = lf[_LIFE:]
        elif len(lf) > _LIFE:  # the assumed quantity's block comes first
            lf = lf[:_LIFE]
    return _footprint(c, r, lf, provider or cprov, name, operation, "default", EMPTY_LABELS,
                      it, ot, ct, rt, e0, e1, warns, "ok", None, ts)


def _operation_of(model: Any, provider: str | None) -> str:
    key = (model, provider)
    try:
        return _default_ops[key]
    except (KeyError, TypeError):
        pass
    if not _state["hooked"]:
        _hook()  # it empties the caches: first, so this answer stays cached
    from ._resolve import default_operation

    op = default_operation(model, provider)
    try:
        evict_oldest(_default_ops, limit=_CACHE_SIZE)
        _default_ops[key] = op
    except TypeError:  # unhashable: not cached
        pass
    return op


def footprint_for(usage: Usage, *, team: str, labels: Mapping[str, str],
                  timestamp: float = 0.0) -> Footprint:
    """The footprint of one metered call (the meter core's hot path).

    The usage is not trusted: counts that are not whole numbers from 0 to 100 M and media
    sizes out of range are replaced (with a warning on the footprint), and an overlong or
    invalid model name is cut and cleaned, so garbage costs microseconds and no counter
    goes down or turns NaN. A failed call (``usage.outcome`` not "ok") is charged what its
    usage shows it produced: nothing when it shows nothing (`_charging`).
    """
    model = usage.model
    if (type(model) is not str or not model or len(model) > 200 or not model.isascii()
            or model.isspace()):
        model = model_name(model)
    try:
        if timestamp and not _now_span[0] <= timestamp < _now_span[1]:
            raise KeyError  # dated outside today's span: that span's fleet
        c = _cache[(model, usage.provider, usage.operation, None, None, None, None)]
        if _live_ttl:
            c = _coef(model, usage.provider, usage.operation)
    except (KeyError, TypeError):
        if not _state["hooked"]:  # today's span is unknown until then: a dated first call
            _hook()  # would take today's fleet
        c = _coef(model, usage.provider, usage.operation, when=(
            None if not timestamp or _now_span[0] <= timestamp < _now_span[1] else timestamp))
    it = usage.input_tokens
    ot = usage.output_tokens
    ct = usage.cached_input_tokens
    rt = usage.reasoning_tokens
    bad: list[str] | None = None
    if not (type(it) is int and type(ot) is int and type(ct) is int and type(rt) is int
            and 0 <= ct <= it <= _MAX_TOKENS and 0 <= ot <= _MAX_TOKENS
            and 0 <= rt <= _MAX_TOKENS):
        it, ot, ct, rt, bad = counts(it, ot, ct, rt)
    r = c.ratios
    lf = c.life
    if c.kind == "text":
        e0, e1, _ = _energy(c, it, ot, ct, rt, None, None, None, None, None, None, None, None)
    else:
        bad = media(usage) + (bad or [])
        sec = usage.video_seconds if c.kind == "diffusion" else usage.audio_seconds
        e0, e1, known = _energy(c, it, ot, ct, rt, usage.width, usage.height, usage.steps,
                                usage.frames, usage.fps, sec, usage.images, usage.characters)
        if known and len(r) > 16:
            r = r[16:]
            lf = lf[_LIFE:]
        elif len(lf) > _LIFE:  # the assumed quantity's block comes first
            lf = lf[:_LIFE]
    if usage.outcome != "ok" and not produced(c.kind, usage, ot, rt):
        e0 = e1 = 0.0  # a failure that produced nothing is charged nothing (_charging)
    elif (e0 + e1) * c.ks > _max_call_j:  # no one call draws more than a node for an hour
        bad = [*(bad or ()), ceiling_warning((e0 + e1) * c.ks, _max_call_j)]
        scale = _max_call_j / ((e0 + e1) * c.ks)
        e0, e1 = e0 * scale, e1 * scale
    w = c.warnings
    if usage.warnings or bad:
        w = w + tuple(x for x in (*(usage.warnings or ()), *(bad or ())) if x not in w)
    rm = usage.response_model  # read off the provider's response: same care as the name
    if rm is not None and (type(rm) is not str or len(rm) > 200 or not rm.isascii()):
        rm = model_name(rm)
    fp = _footprint(c, r, lf, usage.provider, model, usage.operation, team, labels, it, ot,
                    ct, rt, e0, e1, w, usage.outcome, rm, timestamp)
    if _ratios:  # an endpoint whose energy is measured: its learned ratio (one lookup)
        cal = _ratios.get((usage.server_address, usage.server_port))
        if cal is not None:
            return _calibrated(fp, cal)
    return fp
