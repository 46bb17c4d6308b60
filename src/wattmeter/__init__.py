"""wattmeter: the energy and CO2e of every generative-AI call, on spans, metrics and budgets.

The public API (DESIGN.md) is importable from here; heavier pieces load on first use so
``import wattmeter`` stays cheap and imports no provider SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._attribution import attribute
from ._config import configure
from ._decorator import meter
from ._errors import BudgetExceededError
from ._footprint import Footprint
from ._meter import flush
from ._usage import Usage
from ._version import __version__

# Bound after the subpackages load, so the names are the functions, not the subpackages.
from .estimate import Deployment, ModelSpec, estimate, register_model
from .instrument import instrument, uninstrument

if TYPE_CHECKING:
    from .budget import Budget

__all__ = [
    "Budget",
    "BudgetExceededError",
    "Deployment",
    "Footprint",
    "ModelSpec",
    "Usage",
    "__version__",
    "attribute",
    "configure",
    "estimate",
    "flush",
    "instrument",
    "meter",
    "register_model",
    "uninstrument",
]

_LAZY = {"Budget": "budget"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wattmeter' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
