"""A local simulator of the providers' HTTP APIs, for the demo and for users' tests.

Each provider has a module here with ``register(sim)`` adding its routes, shaped like the
provider's published API reference (JSON and SSE streaming). Usage numbers are
deterministic: input tokens are about 4 characters of prompt text each, output tokens
``max_tokens`` (or 16), so tests can compare what wattmeter recorded with what was sent.
A model named ``error-429`` (or any status) makes the request fail with that status.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._server import Simulator

__all__ = ["PROVIDERS", "Simulator", "register_all"]

#: Provider route modules, in this package.
PROVIDERS = ("openai", "anthropic", "google_genai", "mistralai", "cohere", "huggingface",
             "electricity_maps", "bedrock")


def register_all(sim: Simulator, providers: Iterable[str] | None = None) -> None:
    """Add the routes of `providers` (default: all that exist) to `sim`."""
    for name in PROVIDERS if providers is None else providers:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}" and providers is None:
                continue
            raise
        module.register(sim)


def __getattr__(name: str) -> object:
    if name == "Simulator":
        from ._server import Simulator

        return Simulator
    raise AttributeError(name)
