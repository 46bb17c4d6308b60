"""Build the coefficients of one cache key: resolve the name, merge the deployment, pick
the grid, PUE and serving regime, and share one Monte Carlo run among every key whose facts
are the same (the dated, fine-tuned and deployment names of a model; the guessed names of
one size class), so first sight of a name costs microseconds (issue 23)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .. import _config
from ._records import Deployment

if TYPE_CHECKING:
    from ._coefficients import Coef

__all__ = ["make"]

#: Coefficients shared by what determines them (the resolved entry, the facts read from the
#: name, the deployment and grid), not by the raw name (LRU, misses only).
_classes: dict[Any, Coef] = {}
_CLASS_SIZE = 1024
_lock = threading.Lock()  # a module `_lock`: `_fork` gives a forked child a fresh one
#: The estimate modules `make` calls, bound by `_api._hook()` (an import statement per
#: first sight costs microseconds).
_mods: dict[str, Any] = {}


def make(model: Any, provider: str | None, operation: str, deployment: Any,
          zone: str | None, grid_intensity: float | None,
          pue: float | None, when: float | None = None) -> tuple[Coef, str | None]:
    """The coefficients of a key, and the zone whose (possibly live) intensity they use
    (None when the intensity was given as a number); `when`: the call's date (None: now)."""
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
    # an open-weight model named without a provider runs anywhere: no fleet is implied, and
    # neither is its vendor's hardware, data centres or PUE (Gemma is not on Google's TPUs)
    pd = provider_defaults("custom" if provider is None and s.disclosed
                           else provider or s.provider)
    regime = _mods["regime"].choose(dep.regime, cfg.regime, pd.provider, dep.gpu is not None
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
            regime, None if when is None else _mods["regime"].epoch(when))
    with _lock:
        base = _classes.pop(ckey, None)
    if base is None:
        spec = s.registry_model is None and s.name.startswith("spec:")
        m = _mods["market"](pd.provider, zone, float(intensity))  # in ckey: provider, zone
        base = build(s._replace(name="spec:" if spec else "", warnings=()), dep, pd, zone,
                     float(intensity), fixed, p, pfixed, regime, when)._replace(
                         market=m.gco2e_per_kwh, market_is_location=m.kind == "location")
    with _lock:
        if len(_classes) >= _CLASS_SIZE:
            _classes.pop(next(iter(_classes)))
        _classes[ckey] = base  # most recently used last
    return base._replace(model=s.name, warnings=s.warnings), live
