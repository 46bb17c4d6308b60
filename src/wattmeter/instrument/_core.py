"""The generic half of every integration: the endpoint description and the call wrappers.

A provider module describes each metered method with an `Endpoint` (how to read the
model and operation off the request, the `Usage` off the response or a stream chunk);
this core does the rest the same way for every library: budget check and span through
the meter core, the stream proxy, error outcomes, and the internal-error guard.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import _meter, _queue
from .._attribution import current_attribution, current_call
from .._guard import internal_error
from .._meter import Call, start_call
from .._usage import Usage
from ._server import Server, stamp
from ._stream import AsyncStreamProxy, StreamProxy

if TYPE_CHECKING:
    from ._patching import Patch

__all__ = ["MAX_FINISH_REASONS", "Endpoint", "Request", "add_finish_reason", "approx_tokens",
           "estimate_unreported", "parse_size", "wrapper_for"]

#: Distinct finish reasons kept per call (one per choice is typical; the span caps at 16).
MAX_FINISH_REASONS = 8


def add_finish_reason(usage: Usage, reason: Any) -> None:
    """Add one finish reason (a string, or an enum as its lowercase name) once, bounded."""
    if type(reason) is not str:
        name = getattr(reason, "name", None)
        if isinstance(name, str):
            reason = name.lower()
        elif isinstance(reason, str):
            reason = str.__str__(reason)
        else:
            return
    if not reason:
        return
    reasons = usage.finish_reasons
    if reasons is None:
        usage.finish_reasons = [reason]
    elif reason not in reasons and len(reasons) < MAX_FINISH_REASONS:
        reasons.append(reason)


def approx_tokens(text: str | None) -> int:
    """Token count estimated from text (about 4 characters a token) when usage is missing."""
    return (len(text) + 3) // 4 if text else 0


def estimate_unreported(usage: Usage, req: Request,
                        prompt_chars: Callable[[dict[str, Any]], int], warning: str) -> Usage:
    """End a stream whose ``req.state`` is [output characters, usage seen, chunks]: when no
    usage was seen but chunks came, tokens are estimated from text length and `warning` given."""
    chars, seen, chunks = req.state
    if seen or not chunks:
        return usage
    usage.input_tokens = (prompt_chars(req.kwargs) + 3) // 4
    usage.output_tokens = (chars + 3) // 4
    usage.tokens_estimated = True
    usage.warn(warning)
    return usage


def parse_size(size: object) -> tuple[int | None, int | None]:
    """(width, height) from an image size like ``"1024x1536"``; (None, None) otherwise."""
    if isinstance(size, str) and "x" in size:
        w, _, h = size.partition("x")
        if w.isascii() and w.isdigit() and h.isascii() and h.isdigit():  # not "²"
            return int(w), int(h)
    return None, None


class Request:
    """What an endpoint read off the outgoing request; `kwargs` may be amended (usage chunk)."""

    __slots__ = ("details", "injected_usage", "kwargs", "model", "operation", "provider",
                 "server", "state")

    def __init__(self, provider: str, model: str, operation: str, kwargs: dict[str, Any],
                 state: Any = None, injected_usage: bool = False,
                 server: Server | None = None) -> None:
        self.provider = provider
        self.model = model
        self.operation = operation
        self.kwargs = kwargs
        self.state = state
        self.injected_usage = injected_usage
        #: (host, port) the client sends to, for server.address / server.port (see `_server`)
        self.server = server
        #: Whether a span will carry the response's id and finish reasons: the core clears
        #: it when the call has none, so an endpoint can skip reading them (issue 19).
        self.details = True


class Endpoint:
    """How one provider method is metered; provider modules subclass and override."""

    provider = "unknown"
    operation = "chat"
    #: Whether a metered call can run inside this one (a library calling another SDK, or
    #: plain `requests`). When it can't and the call has no span (so no other
    #: instrumentation's span to adopt), the core doesn't mark the call as running: setting
    #: and resetting that context variable cost ~5 µs a call in situ (issue 19).
    may_nest = True
    #: The response classes to wrap: the default `is_stream` is ``isinstance(response,
    #: stream_classes)``, which the core's plain path tests itself, a Python frame fewer
    #: per call (issue 19). An endpoint that overrides `is_stream` leaves it None.
    stream_classes: tuple[type, ...] | None = None
    #: When set (with `stream_classes`), a complete response's ``.usage`` is its usage
    #: block, which ``read_usage(usage, block)`` reads, and its ``.model`` the model that
    #: answered: on the plain path the core then queues a flat record with the block
    #: unread, and the `Call` and `Usage` are made in the background (`_meter.plain_call`).
    read_usage: Callable[[Usage, Any], None] | None = None

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        """Read model/operation off the call; may return amended kwargs (never mutate)."""
        return Request(self.provider, str(kwargs.get("model", "unknown")), self.operation, kwargs)

    def usage(self, response: Any, req: Request) -> Usage:
        """The usage of a complete (non-streamed) response."""
        return Usage(req.provider, req.model, req.operation)

    def error_usage(self, exc: BaseException, req: Request) -> Usage | None:
        """Usage to record for a failed request (None: no generation energy)."""
        return None

    def is_stream(self, response: Any, req: Request) -> bool:
        """True when `response` is a stream to wrap rather than a complete response."""
        classes = self.stream_classes
        return classes is not None and isinstance(response, classes)

    def start_stream(self, req: Request) -> Usage:
        """The tally a stream's chunks add to."""
        return Usage(req.provider, req.model, req.operation)

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        """Add one chunk to `usage`; return True to hide it from user code."""
        return False

    def end_stream(self, usage: Usage, req: Request) -> Usage:
        """Last touches when a stream ends (e.g. estimate tokens if no usage came)."""
        return usage

    def wrap_stream(self, response: Any, call: Call, req: Request, is_async: bool) -> Any:
        """Return the proxy user code gets instead of the provider's stream."""
        cls = AsyncStreamProxy if is_async else StreamProxy
        return cls(response, call, self, req)


def _fail(endpoint: Endpoint, call: Call, req: Request, exc: BaseException) -> None:
    try:
        usage = endpoint.error_usage(exc, req)
        if usage is None and req.server is not None and call.parent is None \
                and call.inner is None:  # what `Call.finish` would make, plus the server
            usage = Usage(req.provider, req.model, req.operation)
        stamp(usage, req.server)
        call.finish(usage, error=exc)
    except Exception as inner:
        internal_error(f"{endpoint.provider}.error", inner)


def _finish(endpoint: Endpoint, call: Call, req: Request, result: Any, is_async: bool,
            where: str = "response") -> Any:
    """After the SDK returned: the stream proxy, or the response's usage, read now (holding
    the response until the background thread read it doubled the process's young garbage
    collections: docs/benchmarks.md)."""
    try:
        if endpoint.is_stream(result, req):
            return endpoint.wrap_stream(result, call, req, is_async)
        usage = endpoint.usage(result, req)
        stamp(usage, req.server)
        call.finish(usage)
    except Exception as exc:
        internal_error(f"{endpoint.provider}.{where}", exc)
        call.finish(None)
    return result


def _late_call(req: Request, team: str, labels: Any, parent: Call | None,
               started: float) -> Call:
    """The `Call` of a plain-path call made after the SDK returned (a stream, an error, no
    usage block to hand over, a nested call, a long queue), started when the call was."""
    call = Call(req.provider, req.model, req.operation, team, labels, parent)
    call.started = started
    return call


def _mark(call: Call, req: Request, nests: bool) -> Any:
    """Mark `call` as running (the context variable's token), or None when nothing reads the
    mark: no span to adopt another instrumentation's into, and nothing metered can run
    inside (`Endpoint.may_nest`). Without a span the endpoint skips the response details."""
    if call.span is None:
        req.details = False  # only a span shows them
        if not nests:
            return None
    return current_call.set(call)


def _reset(token: Any) -> None:
    if token is None:
        return
    try:
        current_call.reset(token)
    except ValueError:  # reset from another context (a generator resumed elsewhere)
        pass


def wrapper_for(endpoint: Endpoint, is_async: bool, patch: Patch | None = None
                ) -> Callable[..., Any]:
    """A wrapt wrapper metering every call of the patched method through `endpoint`.

    While a call needs nothing of `start_call` (`_meter.plain`: no budget check, start hook
    or span), the call is made, and a complete response recorded, in this one frame:
    `start_call`'s and `Call.finish`'s plain cases written out (issue 19: the wrapper runs
    cold between ~1 ms of the SDK's own code; the nine frames skipped measured 5.9 µs).
    For an endpoint inside which nothing metered runs, a complete response whose usage
    block it hands over (`Endpoint.read_usage`) is queued as a flat tuple instead, with no
    `Call` or `Usage` made here (`_meter.plain_call`: 2.2 µs less in situ); anything else
    gets a `Call` started when the call was (`_late_call`). Otherwise the call goes
    through `start_call` and `_finish`. The async wrapper is the
    sync one with ``await``, written out twice on purpose: a shared helper is a frame more.
    With `patch`, an undone patch passes calls through (another wrapper sat on top).
    """
    provider = endpoint.provider
    nests = endpoint.may_nest
    # read through closure cells, not module globals: this runs cold on every call
    plain, attribution, running, now = _meter.plain, current_attribution, current_call.get, \
        time.time
    put, settle_at, receivers = _queue.put, _queue.SETTLE_AT, _meter.receivers
    records, quick_below = _queue.RECORDS, _queue.QUICK_BELOW

    if is_async:

        async def async_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if patch is not None and not patch.active:
                return await wrapped(*args, **kwargs)
            try:
                req = endpoint.request(instance, args, kwargs)
            except Exception as exc:
                internal_error(f"{provider}.request", exc)
                return await wrapped(*args, **kwargs)
            quick = plain[0]
            if quick is not None and quick[1]() is None:  # as in sync_wrapper, below
                found, labels = attribution()
                team: str = found or quick[0]
                parent = running()
                req.details = False
                if nests:
                    call = Call(req.provider, req.model, req.operation, team, labels, parent)
                    token = current_call.set(call)
                else:
                    call, token, started = None, None, now()
            else:
                call = start_call(req.provider, req.model, req.operation)  # may refuse
                token = _mark(call, req, nests)
            try:
                result = await wrapped(*args, **req.kwargs)
            except BaseException as exc:
                _reset(token)
                _fail(endpoint, call or _late_call(req, team, labels, parent, started), req,
                      exc)
                raise
            if token is not None:
                _reset(token)
            if call is None:
                read, classes = endpoint.read_usage, endpoint.stream_classes
                if read is not None and classes is not None and parent is None:
                    try:
                        if not isinstance(result, classes):
                            raw = getattr(result, "usage", None)
                            n = len(records)
                            if raw is not None and 0 < n < quick_below[0]:
                                records.append((
                                    req.provider, req.model, req.operation, req.server, team,
                                    labels, started, now(), getattr(result, "model", None),
                                    raw, read, receivers[0]))
                                return result
                    except Exception as exc:
                        internal_error(f"{provider}.response", exc)
                call = _late_call(req, team, labels, parent, started)
            if quick is None or call.span is not None or call.parent is not None:
                return _finish(endpoint, call, req, result, True)
            try:
                classes = endpoint.stream_classes
                if endpoint.is_stream(result, req) if classes is None \
                        else isinstance(result, classes):
                    return endpoint.wrap_stream(result, call, req, True)
                usage = endpoint.usage(result, req)
                server = req.server
                if server is not None and usage.server_address is None:
                    usage.server_address, usage.server_port = server
                call.finished, call.ended, call.usage = True, now(), usage
                record = (call, None, False, receivers[0])
                n = len(records)
                if 0 < n < quick_below[0]:  # `put` would only append
                    records.append(record)
                elif put(record) >= settle_at and usage.reader is not None:
                    usage.settle()
            except Exception as exc:
                internal_error(f"{provider}.response", exc)
                call.finish(None)
            return result

        return async_wrapper

    def sync_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        if patch is not None and not patch.active:
            return wrapped(*args, **kwargs)
        try:
            req = endpoint.request(instance, args, kwargs)
        except Exception as exc:
            internal_error(f"{provider}.request", exc)
            return wrapped(*args, **kwargs)
        quick = plain[0]
        if quick is not None and quick[1]() is None:  # nothing to check or open: the call here
            found, labels = attribution()
            team: str = found or quick[0]
            parent = running()
            req.details = False  # only a span shows them
            if nests:  # marked as running while the SDK runs
                call = Call(req.provider, req.model, req.operation, team, labels, parent)
                token = current_call.set(call)
            else:  # no `Call` yet: a complete response's may be made in the background
                call, token, started = None, None, now()
        else:
            call = start_call(req.provider, req.model, req.operation)  # may refuse (budget)
            token = _mark(call, req, nests)
        try:
            result = wrapped(*args, **req.kwargs)
        except BaseException as exc:
            _reset(token)
            _fail(endpoint, call or _late_call(req, team, labels, parent, started), req, exc)
            raise
        if token is not None:
            _reset(token)
        if call is None:  # a complete response with a usage block: a flat record, queued
            read, classes = endpoint.read_usage, endpoint.stream_classes
            if read is not None and classes is not None and parent is None:
                try:
                    if not isinstance(result, classes):
                        raw = getattr(result, "usage", None)
                        n = len(records)
                        if raw is not None and 0 < n < quick_below[0]:  # `put`: an append
                            records.append((
                                req.provider, req.model, req.operation, req.server, team,
                                labels, started, now(), getattr(result, "model", None), raw,
                                read, receivers[0]))
                            return result
                except Exception as exc:
                    internal_error(f"{provider}.response", exc)
            call = _late_call(req, team, labels, parent, started)
        if quick is None or call.span is not None or call.parent is not None:
            return _finish(endpoint, call, req, result, False)
        try:  # `_finish` and `Call.finish` for a call with no span or parent, in this frame
            classes = endpoint.stream_classes
            if endpoint.is_stream(result, req) if classes is None \
                    else isinstance(result, classes):
                return endpoint.wrap_stream(result, call, req, False)
            usage = endpoint.usage(result, req)
            server = req.server
            if server is not None and usage.server_address is None:
                usage.server_address, usage.server_port = server
            call.finished, call.ended, call.usage = True, now(), usage
            record = (call, None, False, receivers[0])
            n = len(records)
            if 0 < n < quick_below[0]:  # `put` would only append: no frame for it
                records.append(record)
            elif put(record) >= settle_at and usage.reader is not None:
                usage.settle()
        except Exception as exc:
            internal_error(f"{provider}.response", exc)
            call.finish(None)
        return result

    return sync_wrapper
