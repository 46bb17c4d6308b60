"""Reversible patching: a provider method replaced by wattmeter's wrapper, restorable exactly.

`patch_method` wraps one method with the core's wrapper (`_core.wrapper_for`) in a
`wrapt.FunctionWrapper` of wattmeter's own type; `Patch.undo` puts the original back, or,
when another library wrapped on top of ours since, turns ours into a pass-through.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import wrapt

from ._core import Endpoint, wrapper_for

__all__ = ["Patch", "first_importable", "patch_method", "try_patch"]


class _Wrapper(wrapt.FunctionWrapper):
    """wattmeter's own wrapper type, told apart from other libraries' wrapt wrappers."""


class Patch:
    """One replaced attribute, restorable exactly as it was.

    If another library wrapped the method on top of ours after we patched it (e.g. an
    OpenTelemetry instrumentor), removing ours would remove theirs too: `undo` then turns
    ours into a pass-through instead.
    """

    __slots__ = ("active", "name", "original", "owner", "wrapper")

    def __init__(self, owner: Any, name: str, original: Any) -> None:
        self.owner = owner
        self.name = name
        self.original = original
        self.wrapper: Any = None
        self.active = True

    def undo(self) -> None:
        self.active = False
        current = getattr(self.owner, "__dict__", {}).get(self.name)
        if current is self.wrapper:
            setattr(self.owner, self.name, self.original)


def _resolve(module: str, path: str) -> tuple[Any, str]:
    obj: Any = importlib.import_module(module)
    *parents, name = path.split(".")
    for part in parents:
        obj = getattr(obj, part)
    return obj, name


def patch_method(module: str, path: str, endpoint: Endpoint, is_async: bool = False,
                 wrapper: Callable[..., Any] | None = None) -> Patch:
    """Wrap `module.path` (e.g. ``"openai.resources.chat.completions", "Completions.create"``).

    Raises AttributeError/ImportError when the method is missing so the caller can disable
    just this piece with one log line.
    """
    owner, name = _resolve(module, path)
    own = getattr(owner, "__dict__", {})
    original = own[name] if name in own else getattr(owner, name)
    if isinstance(original, _Wrapper):
        raise RuntimeError(f"{module}.{path} is already wrapped by wattmeter")
    patch = Patch(owner, name, original)
    if wrapper is None:  # ours checks `patch.active` itself (one frame less per call)
        fn = wrapper_for(endpoint, is_async, patch)
    else:
        inner = wrapper

        def fn(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if patch.active:
                return inner(wrapped, instance, args, kwargs)
            return wrapped(*args, **kwargs)  # uninstrumented while another wrapper sat on top

    patch.wrapper = _Wrapper(original, fn)
    setattr(owner, name, patch.wrapper)
    return patch


def try_patch(patches: list[Patch], module: str, path: str, endpoint: Endpoint,
              is_async: bool = False, wrapper: Callable[..., Any] | None = None) -> None:
    """`patch_method`, but a missing module or method disables only this piece (one log line)."""
    try:
        patches.append(patch_method(module, path, endpoint, is_async, wrapper))
    except (ImportError, AttributeError, KeyError, RuntimeError) as exc:
        from .._guard import logger

        logger.info("wattmeter: not metering %s.%s (%s: %s)", module, path,
                    type(exc).__name__, exc)


def first_importable(*names: str) -> str:
    """The first of the module `names` that imports: SDKs move modules between releases
    (a module becomes a package), and the oldest supported release keeps the old place."""
    for name in names:
        try:
            importlib.import_module(name)
            return name
        except ImportError:
            continue
    return names[0]
