"""`estimate()` and `footprint_for()`: a cached coefficient lookup, a few multiplications.

Coefficients are looked up per (model, provider, operation, deployment, zone, intensity,
PUE), built once per set of facts that determines them (every name of one resolved model
shares them) and dropped when the configuration or the model registry changes, or, for those whose
grid intensity came from a zone, when that zone's live intensity arrives or changes.
Precedence: explicit argument > `Deployment` field > configuration > provider defaults.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import _config
from .._footprint import EMPTY_LABELS, Footprint
from .._usage import Usage
from .._version import METHOD_VERSION
from ._calibration import RATIOS as _ratios
from ._calibration import calibrated as _calibrated
from ._charging import ceiling_warning, produced
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
_MV = METHOD_VERSION
_live_ttl = 0.0  # live intensity on: seconds between asking a key's zone again; 0: off
_INF = float("inf")
_new = tuple.__new__
#: Cached keys; an entry of a name guessed by size class shares that class's coefficients
#: (a small tuple of references), so 16,384 names cost about 3 MB, not 16,384 Monte Carlo runs.
_CACHE_SIZE = 16_384
#: Coefficients shared by what determines them (the resolved entry, the facts read from the
#: name, the deployment and grid), not by the raw name (LRU, misses only).
_classes: dict[Any, Coef] = {}
_CLASS_SIZE = 1024
_class_lock = threading.Lock()
_MAX_TOKENS = MAX_TOKENS
#: The model's own operation for `estimate()` calls that give none: (model, provider) -> op.
_default_ops: dict[Any, str] = {}
#: Length of one block of `Coef.life` (`_lifecycle.LIFE_SIZE`; kept here: no import per call).
_LIFE = 9
#: Bound by `_hook()` (before any coefficient exists) so a non-text call runs no import.
_components: Any = None
_intensity_for: Any = None
_speech: dict[str, Any] = {}
#: The estimate modules `_make` calls, bound by `_hook()`.
_mods: dict[str, Any] = {}
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
    global _components, _intensity_for, _regime, _max_call_j
    from . import _regime as regime_module
    from ._coefficients import components
    from ._grid import intensity_for
    from ._live import on_live_update
    from ._physics import constants
    from ._registry import on_registry_change

    _components = components
    _intensity_for = intensity_for
    _regime = regime_module
    _speech.update(constants("speech"))
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
    _state["hooked"] = True
    clear_cache()


def _import_before_fork() -> None:
    """Finish the estimate layer's lazy imports before a fork: a child forked while another
    thread was part-way through them (its first metered call, `_hook`) inherits that
    module's import lock held by a thread it doesn't have, and hangs on its own first call.
    Importing here waits for such an import to end; `import wattmeter` stays cheap."""
    from . import _coefficients, _grid, _live, _physics, _regime, _registry, _resolve  # noqa: F401


os.register_at_fork(before=_import_before_fork)


def _make(model: Any, provider: str | None, operation: str, deployment: Any,
          zone: str | None, grid_intensity: float | None,
          pue: float | None, when: float | None = None) -> tuple[Coef, str | None]:
    """The coefficients of a key, and the zone whose (possibly live) intensity they use
    (None when the intensity was given as a number); `when`: the call's date (None: now)."""
    # bound once by `_hook()`: an import statement per first sight costs microseconds
    build = _mods["coefficients"].build  # looked up per call: tests count the builds
    intensity_for, provider_defaults, zone_intensity = _mods["grid"]
    check_deployment, check_operation, num, resolve, determinants = _mods["resolve"]

    op = check_operation(operation)
    if provider is not None and not isinstance(provider, str):
        raise ValueError(f"provider: got {provider!r}; expected a provider name or None")
    grid_intensity = num("grid_intensity", grid_intensity, 0.0, 5000.0)
    pue = num("pue", pue, 1.0, 5.0)
    dep = check_deployment(deployment)
    if zone is not None:
        zone = zone_intensity(zone).zone
    cfg = _config.current()
    conf = (cfg.deployments or {}).get(provider or "") if provider else None
    if conf:
        cd = check_deployment(conf)
        dep = Deployment._make(a if a is not None else b for a, b in zip(dep, cd, strict=True))
    s = resolve(model, provider, op)
    pd = provider_defaults(provider or s.provider)
    # an open-weight model named without a provider runs anywhere: no fleet is implied
    regime = _regime.choose(dep.regime, cfg.regime, pd.provider, dep.gpu is not None
                            or dep.gpus is not None or dep.batch_size is not None
                            or (provider is None and s.disclosed))
    zone = zone or dep.zone
    live: str | None = None
    if grid_intensity is not None:
        intensity, fixed, zone = grid_intensity, True, zone or "custom"
    elif zone is not None:
        intensity, fixed, live = intensity_for(zone), True, zone
    elif cfg.grid_intensity is not None:
        intensity, fixed, zone = float(cfg.grid_intensity), True, "custom"
    elif cfg.grid_zone is not None:
        zone = zone_intensity(cfg.grid_zone).zone
        intensity, fixed, live = intensity_for(zone), True, zone
    else:
        zone = pd.zone
        intensity, fixed, live = intensity_for(zone), False, zone
    for value in (pue, dep.pue, cfg.pue):
        if value is not None:
            p, pfixed = float(value), True
            break
    else:
        p, pfixed = float(pd.pue), False
    # Every name that resolves to the same facts shares one Monte Carlo run: the dated,
    # fine-tuned and deployment names of a registered model, and the guessed names of one
    # size class (issue 23: first sight of a name and cache churn cost microseconds).
    ckey = (determinants(s), dep, pd.provider, zone, float(intensity), fixed, p, pfixed,
            regime, None if when is None else _regime.epoch(when))
    with _class_lock:
        base = _classes.pop(ckey, None)
    if base is None:
        spec = s.registry_model is None and s.name.startswith("spec:")
        m = _mods["market"](pd.provider, zone, float(intensity))  # in ckey: provider, zone
        base = build(s._replace(name="spec:" if spec else "", warnings=()), dep, pd, zone,
                     float(intensity), fixed, p, pfixed, regime, when)._replace(
                         market=m.gco2e_per_kwh, market_is_location=m.kind == "location")
    with _class_lock:
        if len(_classes) >= _CLASS_SIZE:
            _classes.pop(next(iter(_classes)))
        _classes[ckey] = base  # most recently used last
    return base._replace(model=s.name, warnings=s.warnings), live


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


def _energy(c: Coef, it: int, ot: int, ct: int, rt: int, width: Any, height: Any, steps: Any,
            frames: Any, fps: Any, seconds: Any, items: Any,
            chars: Any) -> tuple[float, float, bool]:
    """Accelerator joules of the two components, and whether the call gave the quantity a
    model's wider ratios assume (diffusion steps, image tokens; see `Coef.ratios`)."""
    out = ot if rt <= ot else ot + rt  # reasoning counted separately: decode both
    unc = it - ct if ct < it else 0
    if c.kind == "text":
        (pt, pp, pc, m0, m1, c0, c1, t0, iw, dw, wm, wc, _, _, b0) = c.phys
        e0 = unc * (pt + pp * (ct + 0.5 * unc)) + ct * pc + c.request_j
        if out <= 0:
            return e0, 0.0, True
        ctx = it + 0.5 * out
        tm = m0 + m1 * ctx
        tc = c0 + c1 * ctx
        t = (tm if tm > tc else tc) + t0
        u = (wm * tm + wc * tc + b0) / t
        return e0, out * (iw + (u if u < 1.0 else 1.0) * dw) * t, True
    components = _components
    d = c.defaults
    known = True
    if c.kind == "ar-image":  # image tokens decoded like text (docs/methodology.md)
        e0, e1 = components(c.kind, c.phys, d, unc, ct, out, width or d[0], height or d[1],
                            d[2], 0, 1 if items is None else items, 0, 0)
        known = out > 0
    elif c.kind == "diffusion":
        if frames is None:  # frames = seconds x fps + 1 (the first frame is the image at t=0)
            if seconds:
                frames = seconds * (fps or d[4]) + 1.0
            elif fps and d[3] > 1.0:  # the default duration at the given frame rate
                frames = (d[3] - 1.0) * fps / d[4] + 1.0
            else:
                frames = d[3]
        e0, e1 = components(c.kind, c.phys, d, 0, 0, 0, width or d[0], height or d[1],
                            steps or d[2], frames, 1 if items is None else items, 0, 0)
        known = steps is not None
    elif c.kind == "speech":
        cps = _speech["chars_per_second"]
        if seconds is None:
            seconds = (chars or 0) / cps
        if chars is None:
            chars = seconds * cps
        e0, e1 = components(c.kind, c.phys, d, unc, ct, out, 0, 0, 0, 0, 0, seconds, chars)
    else:
        e0, e1 = components(c.kind, c.phys, d, unc, ct, out, 0, 0, 0, 0, 0, seconds or 0, 0)
    return e0 + c.request_j, e1, known


def _footprint(c: Coef, r: tuple[float, ...], lf: tuple[float, ...], provider: str,
               model: str, operation: str, team: str,
               labels: Mapping[str, str], it: int, ot: int, ct: int, rt: int, e0: float,
               e1: float, warnings: tuple[str, ...], outcome: str, response_model: str | None,
               timestamp: float) -> Footprint:
    (_, _, _, _, _, ks, pue, inten, zone, _, _, regm, _, _, regime, boundary, mk, mloc) = c
    j = e0 + e1
    acc = j / 3600.0
    server = acc * ks
    energy = server * pue
    (ke, kw, ka, me_lo, me_hi, mw_lo, mw_hi, ma_lo, ma_hi) = lf
    en_lo = (e0 * r[8] + e1 * r[9]) / 3600.0
    en_hi = (e0 * r[10] + e1 * r[11]) / 3600.0
    acc_lo = (e0 * r[0] + e1 * r[1]) / 3600.0
    acc_hi = (e0 * r[2] + e1 * r[3]) / 3600.0
    co2 = energy * inten / 1000.0
    co2_lo = e0 * r[12] + e1 * r[13]
    co2_hi = e0 * r[14] + e1 * r[15]
    emb = j * ke
    emb_lo = acc_lo * me_lo
    emb_hi = acc_hi * me_hi
    return _new(Footprint, (
        provider, model, operation, team, labels, it, ot, ct, rt,
        energy, en_lo, en_hi, acc, acc_lo, acc_hi,
        server, (e0 * r[4] + e1 * r[5]) / 3600.0, (e0 * r[6] + e1 * r[7]) / 3600.0,
        co2, co2_lo, co2_hi,
        zone, inten, pue, "estimated", warnings, outcome, regm, response_model, timestamp,
        emb, emb_lo, emb_hi, co2 + emb, co2_lo + emb_lo, co2_hi + emb_hi,
        j * kw, en_lo * mw_lo, en_hi * mw_hi, j * ka, en_lo * ma_lo, en_hi * ma_hi,
        regime, boundary, _MV, 0.0, 0.0,
        *((co2, co2_lo, co2_hi) if mloc else
          (energy * mk * 0.001, en_lo * mk * 0.001, en_hi * mk * 0.001)), mk))


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
    (kind, name, cprov, p, _d, ks, pue_, inten, zone_, r, warns, regm, req_j, lf, rg,
     bd, mk, mloc) = c
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
    j = e0 + e1
    acc = j / 3600.0
    server = acc * ks
    energy = server * pue_
    (ke, kw, ka, me_lo, me_hi, mw_lo, mw_hi, ma_lo, ma_hi) = lf
    en_lo = (e0 * r[8] + e1 * r[9]) / 3600.0
    en_hi = (e0 * r[10] + e1 * r[11]) / 3600.0
    acc_lo = (e0 * r[0] + e1 * r[1]) / 3600.0
    acc_hi = (e0 * r[2] + e1 * r[3]) / 3600.0
    co2 = energy * inten / 1000.0
    co2_lo = e0 * r[12] + e1 * r[13]
    co2_hi = e0 * r[14] + e1 * r[15]
    emb = j * ke
    emb_lo = acc_lo * me_lo
    emb_hi = acc_hi * me_hi
    return _new(Footprint, (
        provider or cprov, name, operation, "default", EMPTY_LABELS, it, ot, ct, rt,
        energy, en_lo, en_hi, acc, acc_lo, acc_hi,
        server, (e0 * r[4] + e1 * r[5]) / 3600.0, (e0 * r[6] + e1 * r[7]) / 3600.0,
        co2, co2_lo, co2_hi,
        zone_, inten, pue_, "estimated", warns, "ok", regm, None, ts,
        emb, emb_lo, emb_hi, co2 + emb, co2_lo + emb_lo, co2_hi + emb_hi,
        j * kw, en_lo * mw_lo, en_hi * mw_hi, j * ka, en_lo * ma_lo, en_hi * ma_hi,
        rg, bd, _MV, 0.0, 0.0,
        *((co2, co2_lo, co2_hi) if mloc else
          (energy * mk * 0.001, en_lo * mk * 0.001, en_hi * mk * 0.001)), mk))


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
