"""Transparent stream proxies: user code sees the provider's stream, wattmeter sees chunks.

The proxy is a `wrapt.ObjectProxy`, so ``isinstance`` checks, attributes and the SDK's
helpers keep working. Each chunk costs one endpoint call; the call is finished exactly
once, on exhaustion, ``break`` + ``close()``, context-manager exit, an exception, or
garbage collection, with whatever was generated so far.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import wrapt

from .._guard import internal_error
from .._usage import Usage
from ._server import stamp

if TYPE_CHECKING:
    from .._meter import Call

__all__ = ["AsyncStreamProxy", "StreamProxy", "StreamSource"]


class StreamSource(Protocol):
    """What a proxy needs of an endpoint (``_core.Endpoint`` is one); declared here so the
    proxies depend on nothing above them and ``_core`` alone imports ``_stream``."""

    provider: str

    def start_stream(self, req: Any) -> Usage: ...

    def on_chunk(self, usage: Usage, chunk: Any, req: Any) -> bool: ...

    def end_stream(self, usage: Usage, req: Any) -> Usage: ...


def _end(call: Call, endpoint: StreamSource, req: Any, usage: Usage,
         error: BaseException | None = None) -> None:
    if call.finished:
        return
    try:
        usage = endpoint.end_stream(usage, req)
        stamp(usage, getattr(req, "server", None))
        call.finish(usage, error)
    except Exception as exc:
        internal_error(f"{endpoint.provider}.stream_end", exc)
        call.finish(None)


class _Base(wrapt.ObjectProxy):
    def __init__(self, wrapped: Any, call: Call, endpoint: StreamSource, req: Any) -> None:
        super().__init__(wrapped)
        usage = endpoint.start_stream(req)
        self._self_call = call
        self._self_endpoint = endpoint
        self._self_req = req
        self._self_usage = usage
        self._self_iter: Any = None
        # Finish on garbage collection without keeping the proxy alive.
        self._self_finalizer = weakref.finalize(self, _end, call, endpoint, req, usage)

    def _self_chunk(self, chunk: Any) -> bool:
        try:
            return self._self_endpoint.on_chunk(self._self_usage, chunk, self._self_req)
        except Exception as exc:
            internal_error(f"{self._self_endpoint.provider}.chunk", exc)
            return False

    def _self_done(self, error: BaseException | None = None) -> None:
        self._self_finalizer.detach()
        _end(self._self_call, self._self_endpoint, self._self_req, self._self_usage, error)

    def _self_closer(self, name: str) -> Any:
        # The stream's own method, or AttributeError when it has none: ``close``/``aclose``
        # are whatever the stream's are (sync, async, absent), so the proxy's are too.
        method = getattr(self.__wrapped__, name)

        def close(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)  # returned as is: a coroutine is the caller's
            finally:
                self._self_done()

        return close

    @property
    def close(self) -> Any:
        """The stream's ``close`` (sync or async, as the stream has it), finishing the call."""
        return self._self_closer("close")

    @property
    def aclose(self) -> Any:
        """The stream's ``aclose``, finishing the call; absent when the stream has none."""
        return self._self_closer("aclose")

    def __copy__(self) -> Any:  # pragma: no cover - streams are not copyable
        raise TypeError("a stream cannot be copied")

    def __reduce_ex__(self, protocol: Any) -> Any:  # pragma: no cover
        raise TypeError("a stream cannot be pickled")


class StreamProxy(_Base):
    """Proxy for a synchronous provider stream.

    ``for chunk in proxy`` runs through a generator (`_self_chunks`), so a chunk costs one
    generator step and one endpoint call, not a trip through the proxy's attribute lookup;
    ``next(proxy)`` works too and shares the same underlying iterator.
    """

    def __iter__(self) -> Iterator[Any]:
        return self._self_chunks()

    def _self_chunks(self) -> Iterator[Any]:
        it = self._self_iter
        if it is None:
            it = self._self_iter = iter(self.__wrapped__)
        on_chunk = self._self_endpoint.on_chunk
        usage = self._self_usage
        req = self._self_req
        try:
            for chunk in it:
                try:
                    hide = on_chunk(usage, chunk, req)
                except Exception as exc:
                    internal_error(f"{self._self_endpoint.provider}.chunk", exc)
                    hide = False
                if not hide:
                    yield chunk
        except GeneratorExit:  # the loop was left early: the stream may be resumed later
            raise
        except BaseException as exc:
            self._self_done(exc)
            raise
        self._self_done()

    def __next__(self) -> Any:
        it = self._self_iter
        if it is None:
            it = self._self_iter = iter(self.__wrapped__)
        while True:
            try:
                chunk = next(it)
            except StopIteration:
                self._self_done()
                raise
            except BaseException as exc:
                self._self_done(exc)
                raise
            if not self._self_chunk(chunk):
                return chunk

    def __enter__(self) -> StreamProxy:
        enter = getattr(self.__wrapped__, "__enter__", None)
        if enter is not None:
            enter()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            exit_ = getattr(self.__wrapped__, "__exit__", None)
            return exit_(exc_type, exc, tb) if exit_ is not None else None
        finally:
            self._self_done()



class AsyncStreamProxy(_Base):
    """Proxy for an asynchronous provider stream."""

    def __aiter__(self) -> AsyncStreamProxy:
        if self._self_iter is None:
            self._self_iter = self.__wrapped__.__aiter__()
        return self

    async def __anext__(self) -> Any:
        it = self._self_iter
        if it is None:
            it = self._self_iter = self.__wrapped__.__aiter__()
        while True:
            try:
                chunk = await it.__anext__()
            except StopAsyncIteration:
                self._self_done()
                raise
            except BaseException as exc:
                self._self_done(exc)
                raise
            if not self._self_chunk(chunk):
                return chunk

    async def __aenter__(self) -> AsyncStreamProxy:
        enter = getattr(self.__wrapped__, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            exit_ = getattr(self.__wrapped__, "__aexit__", None)
            return await exit_(exc_type, exc, tb) if exit_ is not None else None
        finally:
            self._self_done()
