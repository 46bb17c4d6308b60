"""Patch the installed provider libraries so every generative call is metered.

Each supported library has a small module here exporting ``DISTRIBUTION`` (its name on
PyPI), ``SUPPORTED`` (the version range it was tested with, ``(min, max_exclusive)``) and
``patch() -> list[Patch]``. Provider SDKs are imported only when a library is instrumented.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from typing import TYPE_CHECKING, Any

from .._guard import logger

if TYPE_CHECKING:
    from ._core import Patch

__all__ = ["LIBRARIES", "Instrumentation", "instrument", "instrumented", "uninstrument"]

#: Library name -> (import name that must be installed, module here).
LIBRARIES: dict[str, tuple[str, str]] = {
    "openai": ("openai", "openai"),
    "anthropic": ("anthropic", "anthropic"),
    "google_genai": ("google.genai", "google_genai"),
    "mistralai": ("mistralai", "mistralai"),
    "cohere": ("cohere", "cohere"),
    "huggingface_hub": ("huggingface_hub", "huggingface_hub"),
    "litellm": ("litellm", "litellm"),
    "requests": ("requests", "requests"),
}
_ALIASES = {"google-genai": "google_genai", "genai": "google_genai", "gemini": "google_genai",
            "mistral": "mistralai", "huggingface": "huggingface_hub", "hf": "huggingface_hub"}

_patches: dict[str, list[Patch]] = {}
_lock = threading.Lock()


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit()) if piece[:1].isdigit() else ""
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _supported(module: Any, name: str) -> bool:
    import importlib.metadata  # lazy: it costs ~25 ms at import time

    lo, hi = module.SUPPORTED
    try:
        have = importlib.metadata.version(module.DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return True  # vendored or editable install: try it, each piece is guarded
    v = _version_tuple(have)
    if v < _version_tuple(lo) or (hi and v >= _version_tuple(hi)):
        logger.warning("wattmeter: %s %s is outside the supported range [%s, %s); not "
                       "metering it", module.DISTRIBUTION, have, lo, hi)
        return False
    return True


class Instrumentation:
    """What `instrument()` returns: the libraries patched; a context manager undoing them."""

    def __init__(self, libraries: list[str]) -> None:
        self.libraries = libraries

    def __enter__(self) -> Instrumentation:
        return self

    def __exit__(self, *exc: object) -> None:
        uninstrument(*self.libraries)

    def __repr__(self) -> str:
        return f"Instrumentation({self.libraries!r})"


def _canonical(name: str) -> str:
    key = _ALIASES.get(name, name).replace("-", "_")
    if key not in LIBRARIES:
        raise ValueError(f"instrument(): unknown library {name!r}; supported: "
                         f"{', '.join(LIBRARIES)}")
    return key


def instrument(*libraries: str) -> Instrumentation:
    """Patch the named libraries (default: every installed supported one); idempotent.

    ``requests`` is only patched when named or when ``requests_base_urls`` is configured,
    since plain HTTP calls are metered per base URL.
    """
    from .._config import current

    explicit = bool(libraries)
    names = [_canonical(n) for n in libraries] if explicit else list(LIBRARIES)
    done: list[str] = []
    with _lock:
        for name in names:
            if name in _patches:
                done.append(name)
                continue
            import_name, module_name = LIBRARIES[name]
            if name == "requests" and not explicit and not current().requests_base_urls:
                continue
            try:
                if importlib.util.find_spec(import_name.split(".")[0]) is None or (
                    "." in import_name and importlib.util.find_spec(import_name) is None
                ):
                    if explicit:
                        logger.warning("wattmeter: %s is not installed; not metering it", name)
                    continue
            except (ImportError, ValueError):
                continue
            module = importlib.import_module(f"{__name__}.{module_name}")
            if not _supported(module, name):
                continue
            _patches[name] = module.patch()
            done.append(name)
    return Instrumentation(done)


def uninstrument(*libraries: str) -> None:
    """Undo `instrument()` for the named libraries (default: all); idempotent."""
    names = [_canonical(n) for n in libraries] if libraries else list(_patches)
    with _lock:
        for name in names:
            for p in reversed(_patches.pop(name, [])):
                p.undo()


def instrumented() -> list[str]:
    """The libraries currently patched."""
    return list(_patches)
