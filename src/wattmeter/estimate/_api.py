"""`estimate()` and `footprint_for()`: a cached coefficient lookup, a few multiplications.

Coefficients are built once per (model, provider, operation, deployment, zone, intensity,
PUE) and dropped when the configuration or the model registry changes. Precedence:
explicit argument > `Deployment` field > configuration > provider defaults.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .. import _config
from .._footprint import EMPTY_LABELS, Footprint
from .._usage import Usage
from ._coefficients import Coef, build, components
from ._resolve import Deployment, ModelSpec, _num, check_deployment, check_operation, resolve

__all__ = ["clear_cache", "estimate", "footprint_for"]

_cache: dict[Any, Coef] = {}
_built: dict[Any, float] = {}
_state: dict[str, Any] = {"hooked": False, "live_ttl": 0.0}
_CACHE_SIZE = 4096
_MAX_TOKENS = 100_000_000


def clear_cache(*_: Any) -> None:
    """Forget every cached coefficient (configuration or registry changed)."""
    _cache.clear()
    _built.clear()
    cfg = _config.current()
    _state["live_ttl"] = float(cfg.live_intensity_ttl_s) if cfg.live_intensity else 0.0


def _hook() -> None:
    from ._registry import on_registry_change

    _config.on_change(clear_cache)
    on_registry_change(clear_cache)
    _state["hooked"] = True
    clear_cache()


def _make(model: Any, provider: str | None, operation: str, deployment: Any,
          zone: str | None, grid_intensity: float | None, pue: float | None) -> Coef:
    from ._grid import intensity_for, provider_defaults, zone_intensity

    op = check_operation(operation)
    if provider is not None and not isinstance(provider, str):
        raise ValueError(f"provider: got {provider!r}; expected a provider name or None")
    grid_intensity = _num("grid_intensity", grid_intensity, 0.0, 5000.0)
    pue = _num("pue", pue, 1.0, 5.0)
    dep = check_deployment(deployment)
    if zone is not None:
        zone = zone_intensity(zone).zone
    cfg = _config.current()
    conf = (cfg.deployments or {}).get(provider or "") if provider else None
    if conf:
        cd = check_deployment(conf)
        dep = Deployment(*(a if a is not None else b for a, b in zip(dep, cd, strict=True)))
    s = resolve(model, provider, op)
    pd = provider_defaults(provider or s.provider)
    zone = zone or dep.zone
    if grid_intensity is not None:
        intensity, fixed, zone = grid_intensity, True, zone or "custom"
    elif zone is not None:
        intensity, fixed = intensity_for(zone), True
    elif cfg.grid_intensity is not None:
        intensity, fixed, zone = float(cfg.grid_intensity), True, "custom"
    elif cfg.grid_zone is not None:
        zone = zone_intensity(cfg.grid_zone).zone
        intensity, fixed = intensity_for(zone), True
    else:
        zone = pd.zone
        intensity, fixed = intensity_for(zone), False
    for value in (pue, dep.pue, cfg.pue):
        if value is not None:
            p, pfixed = float(value), True
            break
    else:
        p, pfixed = float(pd.pue), False
    return build(s, dep, pd, zone, float(intensity), fixed, p, pfixed)


def _coef(model: Any, provider: str | None, operation: str, deployment: Any = None,
          zone: str | None = None, grid_intensity: float | None = None,
          pue: float | None = None) -> Coef:
    key = (model, provider, operation, deployment, zone, grid_intensity, pue)
    try:
        c = _cache[key]
        if not _state["live_ttl"] or time.monotonic() - _built[key] < _state["live_ttl"]:
            return c
    except (KeyError, TypeError):
        pass
    if not _state["hooked"]:
        _hook()
    c = _make(model, provider, operation, deployment, zone, grid_intensity, pue)
    if len(_cache) >= _CACHE_SIZE:
        _cache.clear()
        _built.clear()
    try:
        _cache[key] = c
        _built[key] = time.monotonic()
    except TypeError:  # unhashable deployment mapping: don't cache
        pass
    return c


def _energy(c: Coef, it: int, ot: int, ct: int, rt: int, width: Any, height: Any, steps: Any,
            frames: Any, fps: Any, seconds: Any, items: Any, chars: Any) -> tuple[float, float]:
    out = ot if rt <= ot else ot + rt  # reasoning counted separately: decode both
    unc = it - ct if ct < it else 0
    if c.kind == "text":
        p = c.phys
        e0 = unc * (p.pre_j_tok + p.pre_j_pair * (ct + 0.5 * unc)) + ct * p.pre_j_cached
        if out <= 0:
            return e0 + c.request_j, 0.0
        ctx = it + 0.5 * out
        tm = p.mem0 + p.mem1 * ctx
        tc = p.cmp0 + p.cmp1 * ctx
        t = (tm if tm > tc else tc) + p.t0
        u = (p.w_mem * tm + p.w_cmp * tc) / t
        return e0 + c.request_j, out * (p.idle_w + (u if u < 1.0 else 1.0) * p.dyn_w) * t
    d = c.defaults
    if c.kind == "diffusion":
        fps = fps or d[4]
        if frames is None:
            frames = seconds * fps + 1 if seconds else d[3]
        e0, e1 = components(c.kind, c.phys, d, 0, 0, 0, width or d[0], height or d[1],
                            steps or d[2], frames, 1 if items is None else items, 0, 0)
    elif c.kind == "speech":
        from ._physics import constants

        cps = constants("speech")["chars_per_second"]
        if seconds is None:
            seconds = (chars or 0) / cps
        if chars is None:
            chars = seconds * cps
        e0, e1 = components(c.kind, c.phys, d, unc, ct, out, 0, 0, 0, 0, 0, seconds, chars)
    else:
        e0, e1 = components(c.kind, c.phys, d, unc, ct, out, 0, 0, 0, 0, 0, seconds or 0, 0)
    return e0 + c.request_j, e1


def _footprint(c: Coef, provider: str, model: str, operation: str, team: str,
               labels: Mapping[str, str], it: int, ot: int, ct: int, rt: int, e0: float,
               e1: float, warnings: tuple[str, ...], outcome: str, response_model: str | None,
               timestamp: float) -> Footprint:
    r = c.ratios
    acc = (e0 + e1) / 3600.0
    server = acc * c.ks
    energy = server * c.pue
    return Footprint(
        provider, model, operation, team, labels, it, ot, ct, rt,
        energy, (e0 * r[8] + e1 * r[9]) / 3600.0, (e0 * r[10] + e1 * r[11]) / 3600.0,
        acc, (e0 * r[0] + e1 * r[1]) / 3600.0, (e0 * r[2] + e1 * r[3]) / 3600.0,
        server, (e0 * r[4] + e1 * r[5]) / 3600.0, (e0 * r[6] + e1 * r[7]) / 3600.0,
        energy * c.intensity / 1000.0, e0 * r[12] + e1 * r[13], e0 * r[14] + e1 * r[15],
        c.zone, c.intensity, c.pue, "estimated", warnings, outcome, c.registry_model,
        response_model, timestamp)


def _count(field: str, value: Any) -> int:
    if type(value) is int and 0 <= value <= _MAX_TOKENS:
        return value
    return _num(field, value, 0, _MAX_TOKENS, integer=True, optional=False)  # type: ignore[no-any-return]


def estimate(model: str | ModelSpec, provider: str | None = None, operation: str = "chat", *,
             input_tokens: int = 0, output_tokens: int = 0, cached_input_tokens: int = 0,
             reasoning_tokens: int = 0, images: int | None = None, width: int | None = None,
             height: int | None = None, steps: int | None = None, frames: int | None = None,
             seconds: float | None = None, fps: float | None = None,
             characters: int | None = None, audio_seconds: float | None = None,
             deployment: Deployment | None = None, zone: str | None = None,
             grid_intensity: float | None = None, pue: float | None = None) -> Footprint:
    """Estimate the energy and CO2e of one generative call (see DESIGN.md and docs/methodology.md).

    ``input_tokens`` includes ``cached_input_tokens`` and ``output_tokens`` includes
    ``reasoning_tokens``; when ``reasoning_tokens`` exceeds ``output_tokens`` they were
    counted separately and their sum is decoded. Bad input raises ``ValueError``.
    """
    it = _count("input_tokens", input_tokens)
    ot = _count("output_tokens", output_tokens)
    ct = _count("cached_input_tokens", cached_input_tokens)
    rt = _count("reasoning_tokens", reasoning_tokens)
    if ct > it:
        raise ValueError(f"cached_input_tokens: got {ct}, more than input_tokens ({it}); "
                         "input_tokens includes the cached ones")
    if (images is not None or width is not None or height is not None or steps is not None
            or frames is not None or seconds is not None or fps is not None
            or characters is not None or audio_seconds is not None):
        images = _num("images", images, 1, 10_000, integer=True)
        width = _num("width", width, 16, 16_384, integer=True)
        height = _num("height", height, 16, 16_384, integer=True)
        steps = _num("steps", steps, 1, 10_000, integer=True)
        frames = _num("frames", frames, 1, 100_000, integer=True)
        seconds = _num("seconds", seconds, 0, 3_600)
        fps = _num("fps", fps, 1, 240)
        characters = _num("characters", characters, 0, _MAX_TOKENS, integer=True)
        audio_seconds = _num("audio_seconds", audio_seconds, 0, 1_000_000)
    c = _coef(model, provider, operation, deployment, zone, grid_intensity, pue)
    sec = seconds if c.kind == "diffusion" else (
        audio_seconds if audio_seconds is not None else seconds)
    e0, e1 = _energy(c, it, ot, ct, rt, width, height, steps, frames, fps, sec, images,
                     characters)
    return _footprint(c, provider or c.provider, c.model, operation, "default", EMPTY_LABELS,
                      it, ot, ct, rt, e0, e1, c.warnings, "ok", None, 0.0)


def footprint_for(usage: Usage, *, team: str, labels: Mapping[str, str],
                  timestamp: float = 0.0) -> Footprint:
    """The footprint of one metered call (the meter core's hot path)."""
    c = _coef(usage.model, usage.provider, usage.operation)
    it = usage.input_tokens or 0
    ot = usage.output_tokens or 0
    ct = usage.cached_input_tokens or 0
    rt = usage.reasoning_tokens or 0
    if c.kind == "text":
        e0, e1 = _energy(c, it, ot, ct, rt, None, None, None, None, None, None, None, None)
    else:
        sec = usage.video_seconds if c.kind == "diffusion" else usage.audio_seconds
        e0, e1 = _energy(c, it, ot, ct, rt, usage.width, usage.height, usage.steps,
                         usage.frames, usage.fps, sec, usage.images, usage.characters)
    w = c.warnings
    if usage.warnings:
        w = w + tuple(x for x in usage.warnings if x not in w)
    return _footprint(c, usage.provider, usage.model, usage.operation, team, labels, it, ot,
                      ct, rt, e0, e1, w, usage.outcome, usage.response_model, timestamp)
