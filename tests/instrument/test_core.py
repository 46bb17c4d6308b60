"""The generic instrument core and stream proxy, on a small in-process "provider".

The service below stands for any SDK method: it returns a response object, or a stream
(an iterator class with close() and context-manager use) whose chunks carry tokens.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import wattmeter
from wattmeter._usage import Usage
from wattmeter.instrument._core import MAX_FINISH_REASONS, Endpoint, Request, add_finish_reason
from wattmeter.instrument._patching import Patch, patch_method, try_patch
from wattmeter.testing import capture


class Chunk:
    def __init__(self, tokens: int, usage_only: bool = False) -> None:
        self.tokens = tokens
        self.usage_only = usage_only


class ProviderStream:
    """A provider's sync stream: an iterator with close() and context-manager use."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n = n
        self.fail_at = fail_at
        self.closed = False
        self.extra = "provider attribute"
        self._it = self._gen()

    def _gen(self) -> Iterator[Chunk]:
        for i in range(self.n):
            if i == self.fail_at:
                raise ConnectionError("provider dropped the stream")
            yield Chunk(1)
        yield Chunk(0, usage_only=True)

    def __iter__(self) -> Iterator[Chunk]:
        return self._it

    def __next__(self) -> Chunk:
        return next(self._it)

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> ProviderStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncProviderStream:
    def __init__(self, n: int) -> None:
        self.n = n
        self.closed = False

    async def _gen(self) -> AsyncIterator[Chunk]:
        for _ in range(self.n):
            yield Chunk(1)

    def __aiter__(self) -> AsyncIterator[Chunk]:
        return self._gen()

    async def close(self) -> None:
        self.closed = True


class Service:
    def generate(self, model: str, n: int = 3, stream: bool = False,
                 fail_at: int | None = None) -> Any:
        if model == "boom":
            raise KeyError("user-visible provider failure")
        return ProviderStream(n, fail_at) if stream else {"tokens": n}

    async def agenerate(self, model: str, n: int = 3, stream: bool = False) -> Any:
        return AsyncProviderStream(n) if stream else {"tokens": n}


class TestEndpoint(Endpoint):
    __test__ = False
    provider = "test"
    fail_in: str | None = None

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        if self.fail_in == "request":
            raise RuntimeError("bug in request()")
        return super().request(instance, args, kwargs)

    def usage(self, response: Any, req: Request) -> Usage:
        if self.fail_in == "usage":
            raise RuntimeError("bug in usage()")
        return Usage("test", req.model, output_tokens=response["tokens"])

    def is_stream(self, response: Any, req: Request) -> bool:
        return not isinstance(response, dict)

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        if self.fail_in == "chunk":
            raise RuntimeError("bug in on_chunk()")
        usage.output_tokens += chunk.tokens
        return bool(chunk.usage_only)


@pytest.fixture
def service() -> Iterator[tuple[Service, TestEndpoint]]:
    endpoint = TestEndpoint()
    patches: list[Patch] = [patch_method(__name__, "Service.generate", endpoint),
                            patch_method(__name__, "Service.agenerate", endpoint, True)]
    yield Service(), endpoint
    for p in patches:
        p.undo()


def test_plain_call_and_type(service: tuple[Service, TestEndpoint]) -> None:
    svc, _ = service
    with capture() as fps:
        assert svc.generate(model="m", n=4) == {"tokens": 4}
    assert [(f.provider, f.model, f.output_tokens) for f in fps] == [("test", "m", 4)]


def test_stream_proxy_is_transparent_and_hides_chunks(
        service: tuple[Service, TestEndpoint]) -> None:
    svc, _ = service
    with capture() as fps:
        stream = svc.generate(model="m", n=3, stream=True)
        assert isinstance(stream, ProviderStream)
        assert stream.extra == "provider attribute"
        chunks = list(stream)
        assert len(chunks) == 3 and not any(c.usage_only for c in chunks)
        list(stream)  # exhausted again: still finished once
    assert [f.output_tokens for f in fps] == [3]


@pytest.mark.parametrize("how", ["close", "with", "gc", "break_then_close"])
def test_stream_finishes_exactly_once(service: tuple[Service, TestEndpoint], how: str) -> None:
    svc, _ = service
    with capture() as fps:
        stream = svc.generate(model="m", n=10, stream=True)
        if how == "close":
            next(stream)
            stream.close()
            stream.close()
            assert stream.closed
        elif how == "with":
            with stream as s:
                next(iter(s))
                next(s)
        elif how == "gc":
            next(stream)
            del stream
            gc.collect()
        else:
            for _ in stream:
                break
            stream.close()
    assert len(fps) == 1
    assert fps[0].output_tokens == (2 if how == "with" else 1)


def test_error_mid_stream_records_partial_and_propagates(
        service: tuple[Service, TestEndpoint]) -> None:
    svc, _ = service
    with capture() as fps, pytest.raises(ConnectionError):
        for _ in svc.generate(model="m", n=5, stream=True, fail_at=2):
            pass
    assert [(f.outcome, f.output_tokens) for f in fps] == [("error", 2)]


def test_user_exception_propagates_untouched(service: tuple[Service, TestEndpoint]) -> None:
    svc, _ = service
    with capture() as fps, pytest.raises(KeyError) as info:
        svc.generate(model="boom")
    assert info.value.args == ("user-visible provider failure",)
    assert [f.outcome for f in fps] == ["error"]


def test_async_stream(service: tuple[Service, TestEndpoint]) -> None:
    svc, _ = service

    async def main() -> None:
        assert await svc.agenerate(model="m", n=2) == {"tokens": 2}
        stream = await svc.agenerate(model="m", n=3, stream=True)
        assert isinstance(stream, AsyncProviderStream)
        assert len([c async for c in stream]) == 3
        stream = await svc.agenerate(model="m", n=30, stream=True)
        async for _ in stream:
            break
        await stream.close()
        assert stream.closed

    with capture() as fps:
        asyncio.run(main())
    assert [f.output_tokens for f in fps] == [2, 3, 1]


@pytest.mark.parametrize("where", ["request", "usage", "chunk"])
def test_internal_errors_are_swallowed_outside_strict_mode(
        service: tuple[Service, TestEndpoint], where: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    svc, endpoint = service
    monkeypatch.setenv("WATTMETER_STRICT", "0")
    endpoint.fail_in = where
    assert svc.generate(model="m", n=2) == {"tokens": 2}
    assert len(list(svc.generate(model="m", n=2, stream=True))) == 3 if where == "chunk" \
        else 2
    from wattmeter._guard import error_counts

    key = {"request": "test.request", "usage": "test.response", "chunk": "test.chunk"}[where]
    assert error_counts.get(key, 0) >= 1


def test_internal_errors_raise_in_strict_mode(service: tuple[Service, TestEndpoint]) -> None:
    svc, endpoint = service
    endpoint.fail_in = "usage"
    with pytest.raises(RuntimeError, match="bug in usage"):
        svc.generate(model="m")


def test_patching_twice_refuses_and_missing_methods_only_log(
        service: tuple[Service, TestEndpoint], caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(RuntimeError, match="already wrapped"):
        patch_method(__name__, "Service.generate", TestEndpoint())
    patches: list[Patch] = []
    with caplog.at_level(logging.INFO, logger="wattmeter"):
        try_patch(patches, __name__, "Service.no_such_method", TestEndpoint())
        try_patch(patches, "no_such_module_here", "X.y", TestEndpoint())
    assert patches == []
    assert len([r for r in caplog.records if "not metering" in r.getMessage()]) == 2


class Other:
    def call(self, model: str) -> dict[str, int]:
        return {"tokens": 1}


def test_undo_restores_the_original() -> None:
    original = Other.__dict__["call"]
    p = patch_method(__name__, "Other.call", TestEndpoint())
    assert Other.__dict__["call"] is not original
    with capture() as fps:
        Other().call(model="m")
    p.undo()
    assert Other.__dict__["call"] is original
    with capture() as after:
        Other().call(model="m")
    assert len(fps) == 1 and after == []


def test_finish_reasons_are_text_distinct_and_bounded() -> None:
    import enum

    class Reason(str, enum.Enum):  # like google-genai's FinishReason
        MAX_TOKENS = "MAX_TOKENS"

    class Literal(str):  # a str subclass without a name (some SDKs' open enums)
        pass

    usage = Usage("p", "m")
    for reason in ("stop", "stop", Reason.MAX_TOKENS, Literal("tool_calls"), None, 7, ""):
        add_finish_reason(usage, reason)
    assert usage.finish_reasons == ["stop", "max_tokens", "tool_calls"]
    assert all(type(r) is str for r in usage.finish_reasons)
    for i in range(50):
        add_finish_reason(usage, f"r{i}")
    assert len(usage.finish_reasons) == MAX_FINISH_REASONS


def test_a_leaf_call_without_a_span_is_not_marked_as_running() -> None:
    """An endpoint inside which nothing metered can run (`may_nest = False`, e.g. an SDK
    sending with httpx) doesn't set the running-call context variable when the call has no
    span (issue 19); one that may nest still does, so a call inside it counts once."""
    from wattmeter._attribution import current_call
    from wattmeter.instrument._core import Endpoint, wrapper_for

    seen: list[Any] = []

    def inner(*args: Any, **kwargs: Any) -> str:
        seen.append(current_call.get())
        return "ok"

    wattmeter.configure(spans="off")
    for may_nest in (False, True):
        endpoint = Endpoint()
        endpoint.may_nest = may_nest
        assert wrapper_for(endpoint, False)(inner, None, (), {"model": "m"}) == "ok"
    wattmeter.flush()
    assert seen[0] is None and seen[1] is not None
    assert current_call.get() is None


@pytest.mark.parametrize("path", ["plain", "start_call"])
def test_the_plain_path_records_what_start_call_does(
        service: tuple[Service, TestEndpoint], monkeypatch: pytest.MonkeyPatch,
        path: str) -> None:
    """With no budget check, start hook or span to run, the core makes and records the call
    in its own frame (issue 19); the footprints are those of the `start_call` path."""
    from wattmeter import _meter
    from wattmeter.instrument import _core

    svc, _ = service
    started: list[str] = []
    original = _core.start_call

    def spy(provider: str, model: str, operation: str) -> Any:
        started.append(model)
        return original(provider, model, operation)

    def hook(call: Any) -> None:
        pass

    monkeypatch.setattr(_core, "start_call", spy)
    if path == "start_call":
        _meter.add_start_hook(hook)
    try:
        with capture() as fps, wattmeter.attribute(team="search", feature="faq"):
            svc.generate(model="m", n=4)
            list(svc.generate(model="m", n=3, stream=True))
            asyncio.run(svc.agenerate(model="m", n=2))
            with pytest.raises(KeyError):
                svc.generate(model="boom")
    finally:
        _meter.remove_start_hook(hook)
    assert len(started) == (0 if path == "plain" else 4)
    assert [(fp.provider, fp.model, fp.team, dict(fp.labels), fp.output_tokens, fp.outcome)
            for fp in fps] == [
        ("test", model, "search", {"feature": "faq"}, n, outcome)
        for model, n, outcome in (("m", 4, "ok"), ("m", 3, "ok"), ("m", 2, "ok"),
                                  ("boom", 0, "error"))]
