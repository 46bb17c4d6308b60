"""Proxies for the Stainless-generated SDKs' (openai, anthropic) raw responses and stream helpers.

``with_raw_response`` / ``with_streaming_response`` hand user code an API-response object
instead of the parsed one; `RawResponseProxy` meters the call when user code ``parse()``s
it (a parsed stream gets the usual stream proxy) or, if it never does, when the response
is closed or collected. The ``.stream()`` helpers return a manager that makes the request
on ``__enter__``; `ManagerProxy` lets wattmeter meter (or just see) that request and
finish the call when the ``with`` block exits, even after an early ``break``.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import wrapt

from .._guard import internal_error
from .._usage import Usage
from ._core import Endpoint, Request, _finish
from ._sdk_streams import End, Took, can_watch, watch
from ._stream import _Base

if TYPE_CHECKING:
    from .._meter import Call

__all__ = ["ManagerProxy", "RawResponseProxy", "StainlessEndpoint", "is_raw_response",
           "meter_raw"]


def is_raw_response(result: Any) -> bool:
    """True for an SDK API-response wrapper (has ``http_response`` and ``parse``)."""
    return hasattr(type(result), "parse") and hasattr(result, "http_response")


def _end_unparsed(call: Call, endpoint: Endpoint, req: Request) -> None:
    if call.finished:
        return
    try:
        usage = endpoint.end_stream(endpoint.start_stream(req), req)
        usage.warn("raw response never parsed; tokens estimated from the request")
        call.finish(usage)
    except Exception as exc:
        internal_error(f"{endpoint.provider}.raw_end", exc)
        call.finish(None)


def _meter_parsed(endpoint: Endpoint, call: Call, req: Request, parsed: Any,
                  is_async: bool) -> Any:
    """Finish `call` from a parsed response, as the core does for any result; a parsed
    stream comes back proxied."""
    return _finish(endpoint, call, req, parsed, is_async, "raw_parse")


def meter_raw(result: Any, call: Call, endpoint: Endpoint, req: Request, is_async: bool,
              streamed: bool) -> Any:
    """Meter a raw API response: parse it now when its body is already read and it is not a
    stream (the SDK caches the parse), else return a `RawResponseProxy`."""
    if not streamed and not inspect.iscoroutinefunction(type(result).parse) \
            and not hasattr(type(result), "iter_bytes"):
        _meter_parsed(endpoint, call, req, result.parse(), is_async)
        return result
    return RawResponseProxy(result, call, endpoint, req, is_async)


def _settle(stream: Any) -> None:
    """Finish the call of a stream whose response was closed around it (a raw response's
    or a ``.stream()`` helper's ``close``), proxied or metered in place (`_sdk_streams`)."""
    if isinstance(stream, _Base):
        stream._self_done()
        return
    finish = getattr(stream, "_wattmeter_finish", None)
    if finish is not None:
        finish()


class StainlessEndpoint(Endpoint):
    """An openai / anthropic endpoint: streams and raw responses are the results to wrap
    (`stream_classes`, raw ones `raw_types`); ``req.state[0]`` counts output characters
    (a chat or completion stream's: its chunks with output)."""

    raw_types: tuple[type, ...] = ()
    stream_classes: tuple[type, ...] = ()
    #: The SDK's own stream classes, which `_sdk_streams` can meter in place.
    stream_types: tuple[type, ...] = ()
    #: The SDK sends with httpx, which wattmeter doesn't meter: nothing metered runs inside.
    may_nest = False
    #: Reads a chunk's ``usage`` field when set; with `end_counted`, the endpoint's streams
    #: are metered in place on the plain path (`_sdk_streams`), not proxied.
    took: Took | None = None
    end_counted: End | None = None

    def wrap_stream(self, response: Any, call: Any, req: Request, is_async: bool) -> Any:
        if isinstance(response, self.raw_types):
            return meter_raw(response, call, self, req, is_async,
                             req.kwargs.get("stream") is True)
        took, end = self.took, self.end_counted
        if took is not None and end is not None and not req.details \
                and can_watch(response, self.stream_types):
            return watch(response, call, self.provider, req, took, end, is_async)
        return super().wrap_stream(response, call, req, is_async)

    def output_chars(self, response: Any) -> int:
        """Output characters of a complete response that carries no usage block."""
        return 0

    def response_details(self, usage: Usage, response: Any) -> None:
        """Span details of a complete response (id, finish reasons), read only for a span."""

    def usage(self, response: Any, req: Request) -> Usage:
        """The response's usage block, handed over for `read_usage` to read before the
        footprint (`Usage.settle`); without one, tokens estimated by `end_stream` from the
        prompt and `output_chars`. One frame, as it runs on every call (issue 19)."""
        read = self.read_usage
        if read is None:
            return super().usage(response, req)
        usage = Usage(req.provider, req.model, req.operation)
        usage.response_model = getattr(response, "model", None)
        u = getattr(response, "usage", None)
        if u is not None:
            usage.reader, usage.raw = read, u
        else:
            req.state[0] = self.output_chars(response)
            usage = self.end_stream(usage, req)
        if req.details:  # only a span shows them
            self.response_details(usage, response)
        return usage


class RawResponseProxy(wrapt.ObjectProxy):
    """A raw API response that meters its call on ``parse()``, ``close()`` or collection."""

    def __init__(self, wrapped: Any, call: Call, endpoint: Endpoint, req: Request,
                 is_async: bool) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_endpoint = endpoint
        self._self_req = req
        self._self_async = is_async
        self._self_parsed: tuple[Any, Any] | None = None
        self._self_finalizer = weakref.finalize(self, _end_unparsed, call, endpoint, req)

    def _self_take(self, parsed: Any) -> Any:
        cached = self._self_parsed
        if cached is not None:
            return cached[1] if cached[0] is parsed else parsed
        self._self_finalizer.detach()
        out = _meter_parsed(self._self_endpoint, self._self_call, self._self_req, parsed,
                            self._self_async)
        self._self_parsed = (parsed, out)
        return out

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        result = self.__wrapped__.parse(*args, **kwargs)
        if inspect.isawaitable(result):
            async def later() -> Any:
                return self._self_take(await result)

            return later()
        return self._self_take(result)

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_settle()

    def _self_settle(self) -> None:
        """The response is done with: finish the call with what is known."""
        cached = self._self_parsed
        if cached is None:
            self._self_finalizer()
        else:
            _settle(cached[1])


class ManagerProxy(wrapt.ObjectProxy):
    """A ``.stream()`` helper's manager whose request is seen (and optionally metered).

    `run(make)` is called with the manager's own request function (a callable for sync
    managers, an awaitable for async ones) when the ``with`` block is entered; it returns
    the provider stream, which is remembered so the call finishes when the block exits.
    """

    def __init__(self, manager: Any, run: Callable[[Any], Any] | None, is_async: bool) -> None:
        super().__init__(manager)
        self._self_streams: list[Any] = []
        attr = next((k for k in vars(manager) if k.endswith("__api_request")), None)
        if attr is None:
            return
        original = getattr(manager, attr)
        streams = self._self_streams
        if is_async:
            async def areq() -> Any:
                stream = await (run(original) if run is not None else original)
                streams.append(stream)
                return stream

            setattr(manager, attr, areq())
        else:
            def req() -> Any:
                stream = run(original) if run is not None else original()
                streams.append(stream)
                return stream

            setattr(manager, attr, req)

    def _self_settle(self) -> None:
        for stream in self._self_streams:
            _settle(stream)

    def __enter__(self) -> Any:
        return self.__wrapped__.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc)
        finally:
            self._self_settle()

    async def __aenter__(self) -> Any:
        return await self.__wrapped__.__aenter__()

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc)
        finally:
            self._self_settle()
