"""Energy and CO2e estimation: model registry, hardware, physics models, grid and PUE data.

Pure functions and data, no I/O beyond reading the package's data files on first use.
`estimate()` is the public entry point; `footprint_for()` is what the meter core calls for
every metered call. Data files and the physics modules load on the first estimate, so
``import wattmeter`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._api import estimate, footprint_for
from ._records import Deployment, ModelSpec

if TYPE_CHECKING:
    from ._registry import ModelInfo

__all__ = ["Deployment", "ModelSpec", "estimate", "footprint_for", "register_model"]


def register_model(name: str, **fields: Any) -> ModelInfo:
    """Register a model so `estimate` and the meter know it (see `_registry.register_model`)."""
    from ._registry import register_model as _register

    return _register(name, **fields)
