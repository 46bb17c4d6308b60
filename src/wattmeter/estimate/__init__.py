"""Energy and CO2e estimation: model registry, hardware, physics models, grid and PUE data.

Pure functions and data, no I/O beyond reading the package's data files on first use.
`estimate()` is the public entry point; `footprint_for()` is what the meter core calls for
every metered call. Heavy modules load on first use so ``import wattmeter`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._resolve import Deployment, ModelSpec

if TYPE_CHECKING:
    from .._footprint import Footprint
    from .._usage import Usage
    from ._registry import ModelInfo

__all__ = ["Deployment", "ModelSpec", "estimate", "footprint_for", "register_model"]


def estimate(model: str | ModelSpec, provider: str | None = None, operation: str = "chat",
             **kwargs: Any) -> Footprint:
    """Estimate one call's energy and CO2e (signature and conventions: `_api.estimate`)."""
    from ._api import estimate as _estimate

    globals()["estimate"] = _estimate  # later calls go straight to the implementation
    return _estimate(model, provider, operation, **kwargs)


def footprint_for(usage: Usage, *, team: str, labels: Any, timestamp: float = 0.0) -> Footprint:
    """The footprint of one metered call (the meter core's hot path)."""
    from ._api import footprint_for as _footprint_for

    globals()["footprint_for"] = _footprint_for
    return _footprint_for(usage, team=team, labels=labels, timestamp=timestamp)


def register_model(name: str, **fields: Any) -> ModelInfo:
    """Register a model so `estimate` and the meter know it (see `_registry.register_model`)."""
    from ._registry import register_model as _register

    return _register(name, **fields)
