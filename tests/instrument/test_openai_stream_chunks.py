"""A chat stream through the proxy tallies exactly what `Chat.on_chunk` does, chunk by
chunk, and the proxy keeps its promises: a chunk wattmeter can't read is still yielded
(the error counted), the stream's own exception ends the call and propagates, and
``next()`` interleaves with ``for`` on the same underlying iterator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openai.types.chat import ChatCompletionChunk

import wattmeter
from wattmeter._guard import error_counts
from wattmeter._meter import start_call
from wattmeter.instrument._openai_endpoints import Chat
from wattmeter.instrument._stream import StreamProxy
from wattmeter.testing import capture


def _chunk(i: int, text: str | None = "tok", finish: str | None = None,
           usage: dict[str, int] | None = None, choices: bool = True) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate({
        "id": f"chatcmpl-{i}", "object": "chat.completion.chunk", "created": 1,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]
        if choices else [],
        "usage": usage})


def _chunks(n: int) -> list[ChatCompletionChunk]:
    out = [_chunk(i) for i in range(n - 1)] + [_chunk(n - 1, None, "stop")]
    return [*out, _chunk(n, None, usage={"prompt_tokens": 3, "completion_tokens": n,
                                         "total_tokens": 3 + n}, choices=False)]


def _proxy(source: Any, injected: bool = True) -> tuple[StreamProxy, Any]:
    endpoint = Chat()
    req = endpoint.request(None, (), {"model": "gpt-4o", "messages": [], "stream": True})
    req.injected_usage = injected
    return StreamProxy(source, start_call("openai", "gpt-4o", "chat"), endpoint, req), req


def _tally_by_on_chunk(chunks: list[Any]) -> tuple[Any, list[Any]]:
    endpoint = Chat()
    req = endpoint.request(None, (), {"model": "gpt-4o", "messages": [], "stream": True})
    req.injected_usage = True
    usage = endpoint.start_stream(req)
    shown = [c for c in chunks if not endpoint.on_chunk(usage, c, req)]
    return usage, shown


def test_the_proxy_tallies_what_on_chunk_tallies() -> None:
    chunks = _chunks(5)
    with capture() as fps:
        proxy, req = _proxy(iter(chunks))
        shown = list(proxy)
    usage, expected = _tally_by_on_chunk(chunks)
    assert shown == expected and len(shown) == 5  # the usage chunk wattmeter asked for: hidden
    fp = fps[0]
    assert (fp.input_tokens, fp.output_tokens) == (usage.input_tokens, usage.output_tokens)
    assert req.state == [4, True]  # four chunks with text


def test_an_unreadable_chunk_is_still_yielded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATTMETER_STRICT", "0")
    odd = object()  # no .choices: reading it fails inside wattmeter only
    before = error_counts.get("openai.chunk", 0)
    with capture() as fps:
        proxy, _ = _proxy(iter([_chunk(0), odd, *_chunks(2)]))
        shown = list(proxy)
    assert odd in shown and len(shown) == 4
    assert error_counts.get("openai.chunk", 0) == before + 1
    assert len(fps) == 1


def test_the_stream_error_ends_the_call_and_propagates() -> None:
    def broken() -> Iterator[Any]:
        yield _chunk(0)
        raise ConnectionError("peer went away")

    with capture() as fps:
        proxy, _ = _proxy(broken())
        with pytest.raises(ConnectionError):
            for _ in proxy:
                pass
    assert len(fps) == 1 and fps[0].outcome == "error"


def test_next_and_for_share_the_stream() -> None:
    chunks = _chunks(4)
    with capture() as fps:
        proxy, _ = _proxy(iter(chunks))
        first = next(proxy)
        rest = list(proxy)
    assert [first, *rest] == chunks[:4]
    assert len(fps) == 1 and fps[0].output_tokens == 4
    wattmeter.flush()
