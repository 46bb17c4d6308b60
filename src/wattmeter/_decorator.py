"""`meter()`: meter users' own and self-hosted calls (sync, async, generators).

Usage comes from the return value: a `Usage`, a mapping, or an object, read through a
small protocol (``input_tokens``/``prompt_tokens``, ``output_tokens``/``completion_tokens``,
``cached_input_tokens``, ``reasoning_tokens``, media sizes), directly or under ``.usage``;
or from a ``usage=`` callable given the return value. Generators count one output token
per yielded item unless a ``usage=`` callable is given the list of items.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ._attribution import CO_ASYNC_GENERATOR, CO_COROUTINE, CO_GENERATOR, code_flags
from ._guard import internal_error
from ._meter import Call, start_call
from ._usage import OPERATIONS, Usage

__all__ = ["meter", "usage_from"]

F = TypeVar("F", bound=Callable[..., Any])

_ALIASES = {
    "input_tokens": ("input_tokens", "prompt_tokens", "prompt_token_count"),
    "output_tokens": ("output_tokens", "completion_tokens", "generated_tokens"),
    "cached_input_tokens": ("cached_input_tokens", "cached_tokens"),
    "reasoning_tokens": ("reasoning_tokens",),
}
_MEDIA = ("images", "width", "height", "steps", "frames", "fps", "video_seconds",
          "audio_seconds", "characters")


def _get(source: Any, key: str) -> Any:
    if isinstance(source, Mapping):
        return source.get(key)
    return getattr(source, key, None)


def usage_from(value: Any, provider: str, model: str, operation: str) -> Usage:
    """Read a `Usage` out of a return value (or its ``usage``) by the documented protocol."""
    if isinstance(value, Usage):
        return value
    usage = Usage(provider, model, operation)
    source = value
    inner = _get(value, "usage") if value is not None else None
    if inner is not None:
        source = inner
    found = False
    for field, keys in _ALIASES.items():
        for key in keys:
            v = _get(source, key)
            if isinstance(v, int) and not isinstance(v, bool):
                setattr(usage, field, v)
                found = True
                break
    for field in _MEDIA:
        v = _get(source, field)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            setattr(usage, field, v)
            found = True
    if not found and operation in ("chat", "completion", "embeddings"):
        usage.warn("no usage in the return value: tokens unknown, counted as zero")
    return usage


def meter(model: str, provider: str = "self-hosted", operation: str = "chat",
          usage: Callable[[Any], Any] | None = None,
          measure: str | None = None) -> Callable[[F], F]:
    """Decorate a function that makes one generative call so the call is metered.

    ``usage`` is an optional callable turning the return value (for generators: the list
    of yielded items) into a `Usage`, a mapping or an object of the protocol above.
    A call already metered inside (an instrumented client) is not counted twice.
    ``measure="nvml"`` also measures local GPU energy around the call (docs/measured.md):
    the estimate is provisional until NVML's counter gives the measured figure.
    """
    if not isinstance(model, str) or not model:
        raise ValueError(f"meter(model=...): got {model!r}; expected a model name")
    if operation not in OPERATIONS:
        raise ValueError(f"meter(operation=...): got {operation!r}; expected one of "
                         f"{', '.join(OPERATIONS)}")
    if usage is not None and not callable(usage):
        raise ValueError("meter(usage=...): expected a callable taking the return value")
    if measure not in (None, "nvml"):
        raise ValueError(f"meter(measure=...): got {measure!r}; expected 'nvml' or None")
    mark: Callable[[Call], None] | None = None
    if measure == "nvml":  # the measure layer, wired here as _meter wires the exporters
        from .measure._nvml import nvml_marker

        mark = nvml_marker()

    def marked(provider: str, model: str, operation: str) -> Call:
        call = start_call(provider, model, operation)
        if mark is not None and call.parent is None:
            mark(call)
        return call

    begin = start_call if mark is None else marked  # no extra frame unless measuring

    def read(result: Any, call: Call) -> Usage | None:
        """The call's usage; None lets an instrumented call made inside supply it."""
        try:
            found = usage_from(usage(result) if usage else result, provider, model, operation)
        except Exception as exc:
            internal_error("meter.usage", exc)
            return None
        if call.inner is not None and not _counts(found):
            return None
        return found

    def decorate(func: F) -> F:
        flags = code_flags(func)
        if flags & CO_ASYNC_GENERATOR:

            @functools.wraps(func)
            async def agen(*args: Any, **kwargs: Any) -> Any:
                call = begin(provider, model, operation)
                items: list[Any] = []
                inner = func(*args, **kwargs)
                try:
                    while True:
                        call.enter()  # a metered call inside counts as this one
                        try:
                            item = await inner.__anext__()
                        except StopAsyncIteration:
                            break
                        finally:
                            call.exit()
                        items.append(item if usage else None)
                        yield item
                except BaseException as exc:
                    call.finish(_gen_usage(items, read, usage, call), exc)
                    raise
                call.finish(_gen_usage(items, read, usage, call))

            return agen  # type: ignore[return-value]

        if flags & CO_GENERATOR:

            @functools.wraps(func)
            def gen(*args: Any, **kwargs: Any) -> Any:
                call = begin(provider, model, operation)
                items: list[Any] = []
                inner = func(*args, **kwargs)
                try:
                    while True:
                        call.enter()  # a metered call inside counts as this one
                        try:
                            item = next(inner)
                        except StopIteration:
                            break
                        finally:
                            call.exit()
                        items.append(item if usage else None)
                        yield item
                except BaseException as exc:
                    call.finish(_gen_usage(items, read, usage, call), exc)
                    raise
                call.finish(_gen_usage(items, read, usage, call))

            return gen  # type: ignore[return-value]

        if flags & CO_COROUTINE:

            @functools.wraps(func)
            async def acall(*args: Any, **kwargs: Any) -> Any:
                call = begin(provider, model, operation).enter()
                try:
                    result = await func(*args, **kwargs)
                except BaseException as exc:
                    call.exit()
                    call.finish(None, exc)
                    raise
                call.exit()
                call.finish(read(result, call))
                return result

            return acall  # type: ignore[return-value]

        @functools.wraps(func)
        def sync(*args: Any, **kwargs: Any) -> Any:
            call = begin(provider, model, operation).enter()
            try:
                result = func(*args, **kwargs)
            except BaseException as exc:
                call.exit()
                call.finish(None, exc)
                raise
            call.exit()
            call.finish(read(result, call))
            return result

        return sync  # type: ignore[return-value]

    return decorate


def _gen_usage(items: list[Any], read: Callable[[Any, Call], Usage | None], usage: Any,
               call: Call) -> Usage | None:
    if usage:
        return read(items, call)
    if call.inner is not None:  # an instrumented stream inside reported the real counts
        return None
    return Usage(call.provider, call.model, call.operation, output_tokens=len(items))


def _counts(u: Usage) -> bool:
    """True when `u` says anything about the call's size (tokens or media)."""
    return bool(u.input_tokens or u.output_tokens or any(
        getattr(u, name) for name in _MEDIA))
