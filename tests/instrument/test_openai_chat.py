"""openai chat completions through the real client and the local simulator.

Sync, async, streams (the usage chunk wattmeter asks for is hidden), early break, close,
context managers, the ``.stream()`` and ``.parse()`` helpers, raw and streaming responses,
provider errors, and patching that undoes cleanly.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

import wattmeter
from wattmeter._meter import add_sink, remove_sink
from wattmeter.instrument._stream import AsyncStreamProxy
from wattmeter.testing import capture

MSG: Any = [{"role": "user", "content": "a secret prompt about penguins"}]
PROMPT_TOKENS = (len("a secret prompt about penguins") + 3) // 4


@pytest.fixture
def aclient(simulator: Any) -> openai.AsyncOpenAI:
    wattmeter.instrument("openai")
    return openai.AsyncOpenAI(base_url=simulator.url + "/v1", api_key="sk-test", max_retries=0)


def test_create_records_the_usage_the_server_sent(client: openai.OpenAI) -> None:
    with capture() as fps:
        r = client.chat.completions.create(model="gpt-4o", messages=MSG, max_tokens=5)
    assert isinstance(r, ChatCompletion)
    assert len(fps) == 1
    fp = fps[0]
    assert r.usage is not None
    assert (fp.input_tokens, fp.output_tokens) == (r.usage.prompt_tokens, 5)
    assert fp.input_tokens == PROMPT_TOKENS
    assert (fp.provider, fp.model, fp.operation, fp.outcome) == (
        "self-hosted", "gpt-4o", "chat", "ok")
    assert not any("tokens estimated" in w for w in fp.warnings)
    assert "penguins" not in repr(fp)


def test_reasoning_and_cached_tokens(client: openai.OpenAI) -> None:
    long: Any = [{"role": "user", "content": "x" * 4 * 1100}]
    with capture() as fps:
        client.chat.completions.create(model="o3", messages=long, max_completion_tokens=10)
    fp = fps[0]
    assert (fp.input_tokens, fp.cached_input_tokens) == (1100, 1024)
    assert (fp.output_tokens, fp.reasoning_tokens) == (10, 5)


def test_stream_hides_the_injected_usage_chunk(client: openai.OpenAI, simulator: Any) -> None:
    with capture() as fps:
        stream = client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                                max_tokens=6)
        assert isinstance(stream, openai.Stream)
        chunks = list(stream)
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert all(c.choices for c in chunks)  # code reading chunk.choices[0] keeps working
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "tok " * 6
    assert [(f.input_tokens, f.output_tokens) for f in fps] == [(PROMPT_TOKENS, 6)]
    assert not any("tokens estimated" in w for w in fps[0].warnings)


def test_user_requested_usage_chunk_is_shown(client: openai.OpenAI) -> None:
    with capture() as fps:
        chunks = list(client.chat.completions.create(
            model="gpt-4o", messages=MSG, stream=True, max_tokens=3,
            stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert fps[0].output_tokens == 3


def test_stream_usage_off_estimates_and_says_so(client: openai.OpenAI) -> None:
    wattmeter.configure(stream_usage=False)
    with capture() as fps:
        list(client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                            max_tokens=8))
    fp = fps[0]
    assert fp.output_tokens == 8 and fp.input_tokens == PROMPT_TOKENS
    assert any("tokens estimated" in w for w in fp.warnings)


def test_early_break_and_close_record_the_partial_stream(client: openai.OpenAI) -> None:
    with capture() as fps:
        stream = client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                                max_tokens=50)
        for i, _chunk in enumerate(stream):
            if i == 4:
                break
        assert fps == []
        stream.close()
        stream.close()
    assert len(fps) == 1
    assert fps[0].output_tokens == 4  # five chunks with one token each, the first the role's
    assert any("before its usage" in w and "chunks received" in w for w in fps[0].warnings)


def test_context_manager_and_garbage_collection_finish_once(client: openai.OpenAI) -> None:
    with capture() as fps:
        with client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True) as s:
            next(iter(s))
        assert len(fps) == 1
        s2 = client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)
        next(iter(s2))
        del s2
        gc.collect()
    assert len(fps) == 2


def test_stream_helper_counts_once_and_keeps_working(client: openai.OpenAI) -> None:
    with capture() as fps:
        with client.chat.completions.stream(model="gpt-4o", messages=MSG, max_tokens=4) as s:
            final = s.get_final_completion()
        assert final.choices[0].message.content == "tok " * 4
        with client.chat.completions.stream(model="gpt-4o", messages=MSG, max_tokens=40) as s:
            for _event in s:
                break
    assert fps[0].output_tokens == 4
    assert len(fps) == 2  # the early exit finished at once, not at garbage collection


def test_parse_helper(client: openai.OpenAI) -> None:
    with capture() as fps:
        r = client.chat.completions.parse(model="gpt-4o", messages=MSG)
    assert type(r).__name__.startswith("ParsedChatCompletion")
    assert [(f.input_tokens, f.output_tokens) for f in fps] == [(PROMPT_TOKENS, 16)]
    # The helper raises after a complete response cut by the length limit: the tokens
    # it reported are recorded with outcome "error".
    with capture() as fps, pytest.raises(openai.LengthFinishReasonError):
        client.chat.completions.parse(model="gpt-4o", messages=MSG, max_tokens=2)
    assert [(f.outcome, f.output_tokens) for f in fps] == [("error", 2)]


def test_with_raw_response(client: openai.OpenAI) -> None:
    with capture() as fps:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MSG,
                                                               max_tokens=3)
        assert raw.headers["content-type"] == "application/json"
        assert isinstance(raw.parse(), ChatCompletion)
        raw_stream = client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=MSG, max_tokens=3, stream=True)
        chunks = list(raw_stream.parse())
    assert all(c.choices for c in chunks)
    assert [f.output_tokens for f in fps] == [3, 3]


def test_with_streaming_response(client: openai.OpenAI) -> None:
    with capture() as fps:
        with client.chat.completions.with_streaming_response.create(
                model="gpt-4o", messages=MSG, max_tokens=3) as resp:
            u = resp.parse().usage
            assert u is not None and u.completion_tokens == 3
        with client.chat.completions.with_streaming_response.create(
                model="gpt-4o", messages=MSG, max_tokens=3, stream=True) as resp:
            n = sum(1 for _ in resp.parse())
        with client.chat.completions.with_streaming_response.create(
                model="gpt-4o", messages=MSG, max_tokens=3) as resp:
            resp.read()  # never parsed: finished on close with an estimate
    assert n == 5
    assert [f.output_tokens for f in fps[:2]] == [3, 3]
    assert len(fps) == 3 and fps[2].warnings


@pytest.mark.parametrize("status,exc", [(429, openai.RateLimitError),
                                        (500, openai.InternalServerError)])
def test_provider_error_is_recorded_and_raised(client: openai.OpenAI, status: int,
                                               exc: type[Exception]) -> None:
    with capture() as fps, pytest.raises(exc):
        client.chat.completions.create(model=f"error-{status}", messages=MSG)
    assert [(f.outcome, f.output_tokens) for f in fps] == [("error", 0)]
    with capture() as fps, pytest.raises(exc):
        client.chat.completions.create(model=f"error-{status}", messages=MSG, stream=True)
    assert [f.outcome for f in fps] == ["error"]


def test_async_create_stream_break_and_helper(aclient: openai.AsyncOpenAI) -> None:
    async def main() -> list[int]:
        await aclient.chat.completions.create(model="gpt-4o", messages=MSG, max_tokens=2)
        stream = await aclient.chat.completions.create(model="gpt-4o", messages=MSG,
                                                       stream=True, max_tokens=3)
        assert isinstance(stream, openai.AsyncStream)
        assert not isinstance(stream, AsyncStreamProxy)  # metered in place (`_sdk_streams`)
        got = [c async for c in stream]
        assert all(c.choices for c in got)
        stream = await aclient.chat.completions.create(model="gpt-4o", messages=MSG,
                                                       stream=True, max_tokens=30)
        async for _c in stream:
            break
        await stream.close()
        async with aclient.chat.completions.stream(model="gpt-4o", messages=MSG,
                                                   max_tokens=4) as s:
            await s.get_final_completion()
        raw = await aclient.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=MSG, max_tokens=5)
        raw.parse()
        async with aclient.chat.completions.with_streaming_response.create(
                model="gpt-4o", messages=MSG, max_tokens=6) as resp:
            await resp.parse()
        with pytest.raises(openai.RateLimitError):
            await aclient.chat.completions.create(model="error-429", messages=MSG)
        return [len(got)]

    with capture() as fps:
        asyncio.run(main())
    assert [f.output_tokens for f in fps] == [2, 3, 0, 4, 5, 6, 0]
    assert fps[-1].outcome == "error"


def test_instrument_is_idempotent_and_reversible(simulator: Any) -> None:
    from openai.resources.chat.completions import completions as mod

    original = mod.Completions.__dict__["create"]
    wattmeter.instrument("openai")
    wattmeter.instrument("openai")
    assert mod.Completions.__dict__["create"] is not original
    client = openai.OpenAI(base_url=simulator.url + "/v1", api_key="k", max_retries=0)
    with capture() as fps:
        client.chat.completions.create(model="gpt-4o", messages=MSG)
    assert len(fps) == 1
    wattmeter.uninstrument()
    assert mod.Completions.__dict__["create"] is original
    with capture() as fps:
        client.chat.completions.create(model="gpt-4o", messages=MSG)
        list(client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True))
    assert fps == []


def test_meter_around_an_instrumented_call_counts_once(client: openai.OpenAI) -> None:
    @wattmeter.meter(model="my-wrapper", provider="self-hosted")
    def ask() -> Any:
        return client.chat.completions.create(model="gpt-4o", messages=MSG, max_tokens=7)

    with capture() as fps:
        ask()
    assert len(fps) == 1 and fps[0].output_tokens == 7


def test_attribution_reaches_streams(client: openai.OpenAI) -> None:
    with capture() as fps, wattmeter.attribute(team="search", feature="chat"):
        list(client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True))
    assert fps[0].team == "search" and dict(fps[0].labels) == {"feature": "chat"}


def test_span_details_plain_and_streamed(span_details: Any, client: openai.OpenAI,
                                         sim_server: tuple[str, int]) -> None:
    """server.address / server.port from the client's base URL, response id and finish
    reasons from the response or the stream."""
    msgs = [{"role": "user", "content": "hello"}]
    r = client.chat.completions.create(model="gpt-4o", max_tokens=5, messages=msgs)  # type: ignore[arg-type]
    list(client.chat.completions.create(model="gpt-4o", messages=msgs, stream=True))  # type: ignore[arg-type]
    (plain, streamed) = span_details()
    assert plain == (*sim_server, r.id, ("length",))
    assert streamed[:2] == sim_server and streamed[2] and streamed[3] == ("stop",)


def test_failed_call_span_names_the_server(span_details: Any, client: openai.OpenAI,
                                           sim_server: tuple[str, int]) -> None:
    """A call the provider refused still says where it went; nothing else is invented."""
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="error-429", messages=MSG)
    assert span_details() == [(*sim_server, None, ())]


def test_without_a_span_the_response_details_are_not_read(client: openai.OpenAI) -> None:
    """Only a span shows the response id and finish reasons, so a call without one skips
    reading them on the caller's thread (issue 19); the counts are read as always."""
    wattmeter.configure(spans="off")
    seen: list[Any] = []

    def sink(fp: Any, call: Any) -> None:
        seen.append((call.span, call.usage))

    add_sink(sink)
    try:
        client.chat.completions.create(model="gpt-4o", messages=MSG, max_tokens=5)
        wattmeter.flush()
    finally:
        remove_sink(sink)
    span, usage = seen[0]
    assert span is None
    assert (usage.response_id, usage.finish_reasons) == (None, None)
    assert (usage.input_tokens, usage.output_tokens) == (PROMPT_TOKENS, 5)
    assert usage.response_model == "gpt-4o"


@pytest.mark.parametrize("path", ["flat", "late call", "start_call"])
def test_a_flat_record_gives_the_footprint_a_call_gives(client: openai.OpenAI,
                                                        path: str) -> None:
    """On the plain path a complete response's usage block is handed over unread (issue 19:
    walking it cost ~1.5 µs in situ): while the queue holds records, as a flat record whose
    `Call` and `Usage` are made in the background; into an empty queue (the background
    thread to wake), with a late `Call`. Both give what a call through `start_call` gives."""
    import time

    from wattmeter import _meter, _queue
    from wattmeter._usage import Usage

    long: Any = [{"role": "user", "content": "x" * 4 * 1100}]
    hooked: list[Any] = []
    if path == "start_call":
        _meter.add_start_hook(hooked.append)
    try:
        with capture() as fps, wattmeter.attribute(team="search", feature="faq"):
            with _queue._lock:  # the background thread can't take the records meanwhile
                wattmeter.flush()
                if path != "late call":
                    _meter.start_call("openai", "filler", "chat").finish(Usage("openai", "x"))
                before = time.time()
                client.chat.completions.create(model="o3", messages=long,
                                               max_completion_tokens=10)
                after = time.time()
                record = _queue._records[-1]
                if path == "flat":
                    assert len(record) == 12 and record[9].prompt_tokens_details is not None
                else:
                    assert record[0].usage.reader is not None  # the block, unread
                    assert record[0].usage.cached_input_tokens == 0
            wattmeter.flush()
    finally:
        _meter.remove_start_hook(hooked.append)
    assert len(hooked) == (2 if path == "start_call" else 0)  # the filler and the call
    fp = fps[-1]
    assert (fp.provider, fp.model, fp.operation, fp.team, dict(fp.labels), fp.outcome) == (
        "self-hosted", "o3", "chat", "search", {"feature": "faq"}, "ok")
    assert (fp.input_tokens, fp.cached_input_tokens, fp.output_tokens,
            fp.reasoning_tokens) == (1100, 1024, 10, 5)
    assert fp.response_model == "o3" and before <= fp.timestamp <= after


def test_a_long_queue_holds_no_usage_blocks(client: openai.OpenAI) -> None:
    """Past `SETTLE_AT` queued records a finishing call reads its block itself (~2 KB each)."""
    from wattmeter import _queue
    from wattmeter._meter import start_call
    from wattmeter._usage import Usage

    with capture() as fps:
        with _queue._lock:
            for _ in range(_queue.SETTLE_AT):
                start_call("openai", "gpt-4o", "chat").finish(Usage("openai", "gpt-4o"))
            client.chat.completions.create(model="gpt-4o", messages=MSG, max_tokens=5)
            usage = _queue._records[-1][0].usage  # a `Call`'s record: not a flat one
            assert usage.reader is None and usage.input_tokens == PROMPT_TOKENS
        wattmeter.flush()
    assert len(fps) == _queue.SETTLE_AT + 1
