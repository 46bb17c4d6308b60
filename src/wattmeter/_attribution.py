"""Who a call belongs to: a team and labels carried in a context variable.

Context variables follow threads started with `contextvars.copy_context()` and every
asyncio task, so attribution set around a request reaches the calls made inside it. The
metered call in progress lives here too (`current_call`): the meter core sets it and the
exporters read it, so neither imports the other.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from ._footprint import EMPTY_LABELS
from ._text import clean

__all__ = ["attribute", "code_flags", "current_attribution", "current_call"]

# Code-object flags, read directly: importing `inspect` would cost ~10 ms at import time.
CO_GENERATOR = 0x20
CO_COROUTINE = 0x80
CO_ASYNC_GENERATOR = 0x200


def code_flags(func: Any) -> int:
    """The code flags of a plain or wrapped function (0 when there is no code object)."""
    func = getattr(func, "__wrapped__", func) if not hasattr(func, "__code__") else func
    code = getattr(func, "__code__", None)
    return code.co_flags if code is not None else 0

F = TypeVar("F", bound=Callable[..., Any])

#: (team or None, labels) of the innermost attribute() block.
_attribution: contextvars.ContextVar[tuple[str | None, Mapping[str, str]]] = (
    contextvars.ContextVar("wattmeter_attribution", default=(None, EMPTY_LABELS))
)


#: The metered call in progress here (a `_meter.Call`), or None; set by `Call.enter()`.
current_call: contextvars.ContextVar[Any] = contextvars.ContextVar("wattmeter_call",
                                                                   default=None)


#: The team (None: the configured default) and labels in force here: the context
#: variable's own ``get``, so the meter core reads it without a Python frame per call.
current_attribution: Callable[[], tuple[str | None, Mapping[str, str]]] = _attribution.get


class attribute:
    """Attribute the calls made inside to a team and labels; nests, merging labels.

    Use as ``with attribute(team="search", feature="autocomplete"):`` or as a decorator
    on sync or async functions.
    """

    def __init__(self, team: str | None = None, **labels: Any) -> None:
        if team is not None and (not isinstance(team, str) or not team):
            raise ValueError(f"attribute(team=...): got {team!r}; expected a non-empty string")
        for key, value in labels.items():
            if not key.isidentifier():
                raise ValueError(f"attribute(): label name {key!r} must be an identifier")
            if value is None:
                raise ValueError(f"attribute(): label {key!r} is None; give a string")
        # Team and labels often come from a request: made valid UTF-8 and bounded here,
        # once per block, so no exporter, span or ledger row sees a lone surrogate.
        self.team = clean(team) if team is not None else None
        self.labels = {k: clean(str(v)) for k, v in labels.items()}
        self._tokens: list[contextvars.Token[Any]] = []

    def __enter__(self) -> attribute:
        team, labels = _attribution.get()
        merged = MappingProxyType({**labels, **self.labels}) if self.labels else labels
        self._tokens.append(_attribution.set((self.team or team, merged)))
        return self

    def __exit__(self, *exc: object) -> None:
        _attribution.reset(self._tokens.pop())

    async def __aenter__(self) -> attribute:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__()

    def __call__(self, func: F) -> F:
        if code_flags(func) & CO_COROUTINE:

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with attribute(self.team, **self.labels):
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with attribute(self.team, **self.labels):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
