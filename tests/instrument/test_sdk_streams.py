"""openai streams metered in place on the plain path: the SDK's own object comes back, its
chunks are the same, and the call is finished once however the stream ends."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionChunk

import wattmeter
from wattmeter._guard import error_counts
from wattmeter._meter import start_call
from wattmeter.instrument import _openai_endpoints
from wattmeter.instrument._openai_endpoints import Chat
from wattmeter.instrument._sdk_streams import can_watch
from wattmeter.instrument._stream import StreamProxy
from wattmeter.testing import capture

MSG: Any = [{"role": "user", "content": "a secret prompt about penguins"}]


def _stream(client: openai.OpenAI, tokens: int, **kwargs: Any) -> Any:
    return client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                          max_tokens=tokens, **kwargs)


def test_the_stream_is_the_sdks_own_and_its_chunks_unchanged(client: openai.OpenAI) -> None:
    with capture() as fps:
        stream = _stream(client, 6)
        assert isinstance(stream, openai.Stream) and type(stream).__name__ == "Stream"
        assert not isinstance(stream, StreamProxy)
        chunks = list(stream)
        legacy_stream = client.completions.create(model="gpt-3.5-turbo-instruct",
                                                  prompt="hi", stream=True, max_tokens=3)
        assert not isinstance(legacy_stream, StreamProxy)
        legacy = list(legacy_stream)
    assert all(c.choices for c in chunks)  # the usage chunk wattmeter asked for: hidden
    assert [c.usage for c in chunks] == [None] * len(chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "tok " * 6
    assert all(c.choices for c in legacy)
    assert [(f.output_tokens, f.outcome, f.warnings) for f in fps] == [(6, "ok", ()),
                                                                      (3, "ok", ())]
    assert fps[0].model == "gpt-4o"


def test_a_span_gets_the_proxy_which_reads_the_details(client: openai.OpenAI,
                                                        span_details: Any) -> None:
    stream = _stream(client, 2)
    assert isinstance(stream, StreamProxy) and isinstance(stream, openai.Stream)
    list(stream)
    assert span_details()[0][3] == ("stop",)


def test_with_the_helper_and_a_raw_response_finish_at_once(client: openai.OpenAI) -> None:
    # break + close(): test_openai_chat's test_early_break_and_close_record_the_partial_stream
    with capture() as fps:
        with _stream(client, 50) as s:
            next(s)
            next(s)
        assert len(fps) == 1
        with client.chat.completions.stream(model="gpt-4o", messages=MSG, max_tokens=40) as h:
            for _event in h:
                break
        assert len(fps) == 2
        with client.chat.completions.with_streaming_response.create(
                model="gpt-4o", messages=MSG, max_tokens=40, stream=True) as raw:
            next(iter(raw.parse()))
    assert len(fps) == 3
    assert fps[0].output_tokens == 1  # two chunks, the first the role's
    assert any("chunks received" in w for w in fps[0].warnings)


def test_collection_finishes_a_stream_read_part_way_or_never(client: openai.OpenAI) -> None:
    with capture() as fps:
        stream = _stream(client, 50)
        next(iter(stream))
        gone = weakref.ref(stream)
        del stream
        gc.collect()
        assert gone() is None  # wattmeter's hooks keep nothing alive
        _stream(client, 50)
        gc.collect()
    assert [f.output_tokens for f in fps] == [0, 0]


def test_stream_usage_off_is_estimated_from_the_chunks(client: openai.OpenAI) -> None:
    wattmeter.configure(stream_usage=False)
    with capture() as fps:
        list(_stream(client, 8))
    (fp,) = fps
    assert fp.output_tokens == 8
    assert any("no usage reported" in w for w in fp.warnings)


def test_the_user_asked_usage_chunk_is_shown(client: openai.OpenAI) -> None:
    with capture() as fps:
        chunks = list(_stream(client, 3, stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert fps[0].output_tokens == 3 and fps[0].warnings == ()


def test_a_cut_stream_ends_the_call_with_its_error(client: openai.OpenAI) -> None:
    with capture() as fps, pytest.raises((openai.APIError, httpx.HTTPError)):  # by SDK version
        for _ in client.chat.completions.create(model="fault-cut", messages=MSG,
                                                max_tokens=64, stream=True):
            pass
    (fp,) = fps
    assert fp.outcome == "error" and 0 < fp.output_tokens < 64


def test_a_usage_wattmeter_cannot_read_keeps_the_stream_going(
        client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any) -> bool:
        raise RuntimeError("unreadable usage")

    monkeypatch.setenv("WATTMETER_STRICT", "0")  # as in production: logged, not raised
    monkeypatch.setattr(_openai_endpoints.Chat, "took", staticmethod(broken))
    before = error_counts.get("openai.chunk", 0)
    with capture() as fps:
        chunks = list(_stream(client, 4))
    assert error_counts["openai.chunk"] == before + 1  # logged once, counted, swallowed
    assert len(chunks) == 7 and chunks[-1].usage is not None  # shown, as it can't be read
    assert len(fps) == 1


def test_only_the_sdks_own_classes_with_a_usage_field_are_watched(
        client: openai.OpenAI) -> None:
    class Mine(openai.Stream):  # type: ignore[type-arg]
        pass

    stream = client.chat.completions.create.__wrapped__(
        model="gpt-4o", messages=MSG, stream=True, max_tokens=1)
    classes = (openai.Stream, openai.AsyncStream)
    assert can_watch(stream, classes)
    stream._cast_to = dict
    assert not can_watch(stream, classes)
    stream.__class__ = Mine
    assert not can_watch(stream, classes)
    stream.close()


def _tool_call_chunks() -> list[ChatCompletionChunk]:
    """A chat stream calling a tool, no usage: the role, 5 chunks of arguments, the finish."""
    def chunk(delta: dict[str, Any], finish: str | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk.model_validate({
            "id": "chatcmpl-t", "object": "chat.completion.chunk", "created": 1,
            "model": "gpt-4o", "choices": [{"index": 0, "delta": delta,
                                            "finish_reason": finish}]})

    call = {"index": 0, "function": {"arguments": '{"a":'}}
    return [chunk({"role": "assistant", "content": None}),
            *[chunk({"tool_calls": [call]}) for _ in range(5)], chunk({}, "tool_calls")]


@pytest.mark.parametrize("in_place", [True, False])
def test_both_paths_estimate_a_stream_without_usage_alike(client: openai.OpenAI,
                                                          in_place: bool) -> None:
    endpoint = Chat((openai.Stream, openai.AsyncStream), ())
    req = endpoint.request(client.chat.completions, (), {"model": "gpt-4o", "messages": MSG,
                                                         "stream": True})
    stream = openai.Stream(cast_to=ChatCompletionChunk, response=httpx.Response(200),
                           client=client)
    stream._iterator = iter(_tool_call_chunks())
    req.details = not in_place  # a span: the proxy
    with capture() as fps:
        out = endpoint.wrap_stream(stream, start_call("openai", "gpt-4o", "chat"), req, False)
        assert isinstance(out, StreamProxy) is not in_place
        assert len(list(out)) == 7
    assert [f.output_tokens for f in fps] == [5]
