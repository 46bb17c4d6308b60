"""Patch the installed provider libraries so every generative call is metered.

Each supported library has a small module here exporting ``DISTRIBUTION`` (its name on
PyPI), ``SUPPORTED`` (the version range it was tested with, ``(min, max_exclusive)``) and
``patch() -> list[Patch]``. Provider SDKs are imported only when a library is instrumented.
Each `instrument()` call owns the libraries it covered: its handle (or an instrumentor)
lets go of only those, and a library is unpatched when its last owner lets go;
`uninstrument()` undoes every owner's.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import sys
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._guard import internal_error, logger

if TYPE_CHECKING:
    from ._patching import Patch

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
    "bedrock": ("botocore", "bedrock"),
}
#: More modules whose first import patches a library. mistralai 2.x and later ship
#: ``mistralai`` as a namespace package (no ``__init__``; the SDK is ``mistralai.client``),
#: and a post-import hook never fires for a namespace package: it has no loader to chain.
_HOOK_ALSO: dict[str, tuple[str, ...]] = {"mistralai": ("mistralai.client",)}
_ALIASES = {"google-genai": "google_genai", "genai": "google_genai", "gemini": "google_genai",
            "mistral": "mistralai", "huggingface": "huggingface_hub", "hf": "huggingface_hub",
            "bedrock-runtime": "bedrock", "bedrock_runtime": "bedrock", "boto3": "bedrock",
            "botocore": "bedrock", "aws": "bedrock"}

_patches: dict[str, list[Patch]] = {}
#: Libraries to patch when the application imports them (post-import hooks registered).
_armed: set[str] = set()
_hooked: set[str] = set()
#: Library -> the tokens of the `instrument()` calls that cover it and have not let go;
#: `_KEPT` stands for every call whose handle was dropped without `undo()` (a plain
#: ``wattmeter.instrument()``), so calling it again and again adds nothing.
_owners: dict[str, set[int]] = {}
_KEPT = 0
_tokens = itertools.count(1)
# Re-entrant: patching one library can import another whose hook then runs.
_lock = threading.RLock()


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("."):
        # ASCII digits only: "²" is a digit to str.isdigit() but not to int()
        digits = "".join(ch for ch in piece if "0" <= ch <= "9") if "0" <= piece[:1] <= "9" \
            else ""
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
    """What `instrument()` returns: the libraries it covered; a context manager whose exit
    (or `undo()`) lets go of them, unpatching those no other `instrument()` call holds."""

    def __init__(self, libraries: list[str], token: int = _KEPT) -> None:
        self.libraries = libraries
        self._token = token
        if token != _KEPT:
            weakref.finalize(self, _keep, token, list(libraries))

    def undo(self) -> None:
        """Let go of this call's libraries; idempotent."""
        _release(self._token, self.libraries)

    def __enter__(self) -> Instrumentation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.undo()

    def __repr__(self) -> str:
        return f"Instrumentation({self.libraries!r})"


def _canonical(name: str) -> str:
    key = _ALIASES.get(name, name).replace("-", "_")
    if key not in LIBRARIES:
        raise ValueError(f"instrument(): unknown library {name!r}; supported: "
                         f"{', '.join(LIBRARIES)}")
    return key


def instrument(*libraries: str) -> Instrumentation:
    """Meter the named libraries (default: every installed supported one); idempotent.

    A library that is already imported is patched now; one that is not is patched when
    the application first imports it (a post-import hook), so ``instrument()`` itself
    imports no provider SDK. ``requests`` is only patched when named or when
    ``requests_base_urls`` is configured, since plain HTTP calls are metered per base URL.
    """
    from .._config import check, current

    check()  # a bad option in the env or a file raises here, not on the first call
    explicit = bool(libraries)
    names = [_canonical(n) for n in libraries] if explicit else list(LIBRARIES)
    done: list[str] = []
    token = next(_tokens)
    with _lock:
        for name in names:
            if name in _patches or name in _armed:
                done.append(name)
                continue
            import_name, _ = LIBRARIES[name]
            if name == "requests" and not explicit and not current().requests_base_urls:
                continue
            if not _installed(import_name):
                if explicit:
                    logger.warning("wattmeter: %s is not installed; not metering it", name)
                continue
            if import_name in sys.modules:
                if _patch(name):
                    done.append(name)
                continue
            _armed.add(name)
            done.append(name)
            if name not in _hooked:
                import wrapt  # lazy: it costs ~25 ms at import time

                _hooked.add(name)
                hook = _on_import(name)
                for module_name in (import_name, *_HOOK_ALSO.get(name, ())):
                    wrapt.register_post_import_hook(hook, module_name)
        for name in done:
            _owners.setdefault(name, set()).add(token)
    if done:
        from .._meter import prepare

        prepare()  # the record thread loads the estimates now, not under the first calls
    return Instrumentation(done, token)


def _installed(import_name: str) -> bool:
    try:
        top = importlib.util.find_spec(import_name.split(".")[0])
        return top is not None and (
            "." not in import_name or importlib.util.find_spec(import_name) is not None)
    except (ImportError, ValueError):
        return False


def _patch(name: str) -> bool:
    """Patch one library now (the caller holds the lock); False if its version is unsupported."""
    module = importlib.import_module(f"{__name__}.{LIBRARIES[name][1]}")
    if not _supported(module, name):
        return False
    _patches[name] = module.patch()
    return True


def _on_import(name: str) -> Callable[[Any], None]:
    def hook(_module: Any) -> None:
        with _lock:
            if name not in _armed:  # uninstrumented before the library was imported
                return
            _armed.discard(name)
            try:
                _patch(name)
            except Exception as exc:
                internal_error(f"instrument.{name}", exc)

    return hook


def uninstrument(*libraries: str) -> None:
    """Undo `instrument()` for the named libraries (default: all), whoever asked; idempotent."""
    names = [_canonical(n) for n in libraries] if libraries else [*_patches, *_armed]
    with _lock:
        for name in names:
            _unpatch(name)


def _release(token: int, libraries: list[str]) -> None:
    """Let go of the `instrument()` call `token`'s claim on `libraries`: a library no other
    call still holds is unpatched, so one owner never undoes another's patches."""
    with _lock:
        for name in libraries:
            owners = _owners.get(name)
            if owners is None:
                continue
            owners.discard(token)
            if not owners:
                _unpatch(name)


def _keep(token: int, libraries: list[str]) -> None:
    """A handle was dropped without `undo()`: its claim joins the permanent one."""
    with _lock:
        for name in libraries:
            owners = _owners.get(name)
            if owners is not None and token in owners:
                owners.discard(token)
                owners.add(_KEPT)


def _unpatch(name: str) -> None:
    _owners.pop(name, None)
    _armed.discard(name)
    for p in reversed(_patches.pop(name, [])):
        p.undo()


def instrumented() -> list[str]:
    """The libraries currently patched (not those waiting for their first import)."""
    return list(_patches)
