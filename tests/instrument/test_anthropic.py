"""anthropic messages through the real client and the local simulator."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import anthropic
import pytest
from anthropic.types import Message

import wattmeter
from wattmeter.testing import capture

MODEL = "claude-haiku-4-5"
MSG: Any = [{"role": "user", "content": "a secret prompt about penguins"}]
PROMPT_TOKENS = (len("a secret prompt about penguins") + 3) // 4


@pytest.fixture
def client(simulator: Any) -> anthropic.Anthropic:
    wattmeter.instrument("anthropic")
    return anthropic.Anthropic(base_url=simulator.url, api_key="sk-test", max_retries=0)


def test_create_records_usage_and_type(client: anthropic.Anthropic) -> None:
    with capture() as fps:
        m = client.messages.create(model=MODEL, max_tokens=5, messages=MSG)
    assert isinstance(m, Message)
    assert [(f.provider, f.model, f.operation, f.input_tokens, f.output_tokens, f.outcome)
            for f in fps] == [("anthropic", MODEL, "chat", PROMPT_TOKENS, 5, "ok")]
    assert "penguins" not in repr(fps)


def test_cache_tokens_count_as_input(client: anthropic.Anthropic) -> None:
    system: Any = [{"type": "text", "text": "s" * 400, "cache_control": {"type": "ephemeral"}}]
    with capture() as fps:
        m = client.messages.create(model=MODEL, max_tokens=3, system=system, messages=MSG)
    u = m.usage
    assert (u.cache_read_input_tokens, u.cache_creation_input_tokens) == (50, 50)
    fp = fps[0]
    assert fp.input_tokens == u.input_tokens + 100 == PROMPT_TOKENS + 100
    assert fp.cached_input_tokens == 50 and fp.output_tokens == 3


def test_stream_true(client: anthropic.Anthropic) -> None:
    with capture() as fps:
        stream = client.messages.create(model=MODEL, max_tokens=7, messages=MSG, stream=True)
        assert isinstance(stream, anthropic.Stream)
        events = list(stream)
    assert events[0].type == "message_start" and events[-1].type == "message_stop"
    assert [(f.input_tokens, f.output_tokens) for f in fps] == [(PROMPT_TOKENS, 7)]
    assert not any("tokens estimated" in w for w in fps[0].warnings)


def test_stream_early_break_close_and_gc(client: anthropic.Anthropic) -> None:
    with capture() as fps:
        stream = client.messages.create(model=MODEL, max_tokens=50, messages=MSG, stream=True)
        for event in stream:
            if event.type == "content_block_delta":
                break
        stream.close()
        assert len(fps) == 1
        s2 = client.messages.create(model=MODEL, max_tokens=50, messages=MSG, stream=True)
        next(iter(s2))
        del s2
        gc.collect()
    assert len(fps) == 2
    assert fps[0].input_tokens == PROMPT_TOKENS and fps[0].output_tokens == 1
    assert any("before its usage" in w for w in fps[0].warnings)


def test_messages_stream_helper(client: anthropic.Anthropic) -> None:
    with capture() as fps:
        with client.messages.stream(model=MODEL, max_tokens=6, messages=MSG) as s:
            assert "".join(s.text_stream) == "tok " * 6
            assert s.get_final_message().usage.output_tokens == 6
        with client.messages.stream(model=MODEL, max_tokens=50, messages=MSG) as s:
            for i, _t in enumerate(s.text_stream):
                if i == 2:
                    break
        assert len(fps) == 2  # finished when the block exited
    assert [f.output_tokens for f in fps] == [6, 3]


def test_count_tokens_is_not_metered(client: anthropic.Anthropic) -> None:
    with capture() as fps:
        client.messages.count_tokens(model=MODEL, messages=MSG)
    assert fps == []


def test_raw_and_streaming_responses(client: anthropic.Anthropic) -> None:
    with capture() as fps:
        raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=4, messages=MSG)
        assert isinstance(raw.parse(), Message)
        with client.messages.with_streaming_response.create(
                model=MODEL, max_tokens=5, messages=MSG, stream=True) as resp:
            n = sum(1 for _ in resp.parse())
    assert n == 10  # the SDK drops "ping" events
    assert [f.output_tokens for f in fps] == [4, 5]


@pytest.mark.parametrize("status,exc", [(429, anthropic.RateLimitError),
                                        (500, anthropic.InternalServerError)])
def test_provider_errors(client: anthropic.Anthropic, status: int,
                         exc: type[Exception]) -> None:
    with capture() as fps:
        with pytest.raises(exc):
            client.messages.create(model=f"error-{status}", max_tokens=5, messages=MSG)
        with pytest.raises(exc), client.messages.stream(model=f"error-{status}", max_tokens=5,
                                                        messages=MSG):
            pass
    assert [(f.outcome, f.output_tokens) for f in fps] == [("error", 0), ("error", 0)]


def test_async(simulator: Any) -> None:
    wattmeter.instrument("anthropic")

    async def main() -> None:
        ac = anthropic.AsyncAnthropic(base_url=simulator.url, api_key="k", max_retries=0)
        await ac.messages.create(model=MODEL, max_tokens=2, messages=MSG)
        stream = await ac.messages.create(model=MODEL, max_tokens=3, messages=MSG, stream=True)
        assert isinstance(stream, anthropic.AsyncStream)
        async for _e in stream:
            pass
        async with ac.messages.stream(model=MODEL, max_tokens=4, messages=MSG) as s:
            assert (await s.get_final_message()).usage.output_tokens == 4
        async with ac.messages.stream(model=MODEL, max_tokens=40, messages=MSG) as s:
            async for _t in s.text_stream:
                break
        with pytest.raises(anthropic.RateLimitError):
            await ac.messages.create(model="error-429", max_tokens=2, messages=MSG)

    with capture() as fps:
        asyncio.run(main())
    assert [(f.output_tokens, f.outcome) for f in fps] == [
        (2, "ok"), (3, "ok"), (4, "ok"), (1, "ok"), (0, "error")]


def test_uninstrument_restores(simulator: Any) -> None:
    from anthropic.resources.messages import messages as mod

    originals = {k: mod.Messages.__dict__[k] for k in ("create", "stream", "parse")}
    wattmeter.instrument("anthropic")
    wattmeter.instrument("anthropic")
    assert mod.Messages.__dict__["create"] is not originals["create"]
    wattmeter.uninstrument("anthropic")
    assert {k: mod.Messages.__dict__[k] for k in originals} == originals


def test_span_details_plain_and_streamed(span_details: Any, client: anthropic.Anthropic,
                                         sim_server: tuple[str, int]) -> None:
    """server.address / server.port from the client's base URL; message id, stop reason."""
    m = client.messages.create(model=MODEL, max_tokens=2, messages=MSG)
    list(client.messages.create(model=MODEL, max_tokens=3, messages=MSG, stream=True))
    (plain, streamed) = span_details()
    assert plain == (*sim_server, m.id, (m.stop_reason,))
    assert streamed[:2] == sim_server and streamed[2] and len(streamed[3]) == 1
