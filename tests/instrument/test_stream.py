"""The stream proxies' ``close``/``aclose`` are the wrapped stream's own: sync, async or absent.

litellm 1.110's ``CustomStreamWrapper`` has a sync ``close()`` and an async ``aclose()``;
a proxy that awaited ``close()`` broke ``await stream.aclose()``. These streams are plain
stand-ins with each combination; litellm itself is covered in test_litellm.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from wattmeter._meter import start_call
from wattmeter._usage import Usage
from wattmeter.instrument._core import Endpoint, Request
from wattmeter.instrument._stream import AsyncStreamProxy, StreamProxy
from wattmeter.testing import capture


class Counting(Endpoint):
    provider = "test"

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        usage.output_tokens += 1
        return False


class SyncCloseAsyncAclose:
    """Like litellm 1.110's CustomStreamWrapper: ``close()`` sync, ``aclose()`` async."""

    def __init__(self) -> None:
        self.closed = ""

    def __aiter__(self) -> AsyncIterator[int]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[int]:
        for i in range(5):
            yield i

    def close(self) -> None:
        self.closed = "close"

    async def aclose(self) -> None:
        self.closed = "aclose"


class AsyncGeneratorOnly:
    """An async stream with only ``aclose`` (an async generator's shape)."""

    def __aiter__(self) -> AsyncIterator[int]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[int]:
        for i in range(5):
            yield i

    async def aclose(self) -> str:
        return "closed"


class NoClose:
    """A sync stream with no ``close`` at all."""

    def __iter__(self) -> Iterator[int]:
        return iter(range(5))


def _proxy(cls: type[Any], stream: Any) -> Any:
    req = Request("test", "m", "chat", {})
    return cls(stream, start_call("test", "m", "chat"), Counting(), req)


def test_async_proxy_mirrors_sync_close_and_async_aclose() -> None:
    async def main() -> tuple[Any, Any]:
        wrapped = SyncCloseAsyncAclose()
        first = _proxy(AsyncStreamProxy, wrapped)
        async for _ in first:
            break
        assert await first.aclose() is None and wrapped.closed == "aclose"
        other = SyncCloseAsyncAclose()
        second = _proxy(AsyncStreamProxy, other)
        async for _ in second:
            break
        assert second.close() is None and other.closed == "close"  # sync, as the stream's
        return first, second

    with capture() as fps:
        asyncio.run(main())
    assert [fp.output_tokens for fp in fps] == [1, 1]


def test_absent_close_is_absent_on_the_proxy_too() -> None:
    with capture() as fps:
        proxy = _proxy(AsyncStreamProxy, AsyncGeneratorOnly())
        assert not hasattr(proxy, "close") and asyncio.run(proxy.aclose()) == "closed"
        sync = _proxy(StreamProxy, NoClose())
        assert not hasattr(sync, "close") and not hasattr(sync, "aclose")
        with pytest.raises(AttributeError):
            sync.close()
        assert list(sync) == [0, 1, 2, 3, 4]
    assert [fp.output_tokens for fp in fps] == [0, 5]
