"""cohere through its real v2 and v1 clients against the local simulator."""

from __future__ import annotations

import asyncio
import gc
import inspect
from typing import Any

import pytest

pytest.importorskip("cohere")

import cohere
from cohere import core as cohere_core
from cohere.v2 import client as v2_client

import wattmeter
from wattmeter.instrument import instrument, uninstrument
from wattmeter.testing import capture
from wattmeter.testing.simulator.cohere import TEMPLATE_TOKENS

#: No retries, so error tests are quick: a client argument since 7.0; 5.x (the declared floor)
#: only takes it per request, and its retries of a 429/500 change no outcome checked here.
NO_RETRIES: dict[str, Any] = (
    {"max_retries": 0} if "max_retries" in inspect.signature(cohere.Client.__init__).parameters
    else {})

#: The v2 chat response class: ``ChatResponse`` in 5.x, ``V2ChatResponse`` from 7.0.
V2_CHAT_RESPONSE = getattr(cohere, "V2ChatResponse", None) or cohere.ChatResponse

SECRET = "a private prompt naming an unreleased product"
MESSAGES = [{"role": "user", "content": SECRET}]
BILLED_IN = (len(SECRET) + 3) // 4
INPUT = BILLED_IN + TEMPLATE_TOKENS  # usage.tokens: what the model processed


@pytest.fixture
def client(simulator: Any) -> Any:
    instrument("cohere")
    return cohere.ClientV2(api_key="sim-key", base_url=simulator.url, **NO_RETRIES)


@pytest.fixture
def aclient(simulator: Any) -> Any:
    instrument("cohere")
    return cohere.AsyncClientV2(api_key="sim-key", base_url=simulator.url, **NO_RETRIES)


def test_chat_tokens_equal_reported_usage(client: Any) -> None:
    with capture() as fps:
        r = client.chat(model="command-a-03-2025", messages=MESSAGES, max_tokens=7)
    assert isinstance(r, V2_CHAT_RESPONSE)
    (fp,) = fps
    assert (fp.provider, fp.model, fp.operation) == ("cohere", "command-a-03-2025", "chat")
    assert fp.input_tokens == r.usage.tokens.input_tokens == INPUT
    assert fp.output_tokens == r.usage.tokens.output_tokens == 7
    assert fp.outcome == "ok" and not fp.warnings
    assert SECRET not in repr(fp)


def test_chat_stream_usage_from_message_end(client: Any) -> None:
    with capture() as fps:
        events = list(client.chat_stream(model="command-a-03-2025", messages=MESSAGES,
                                         max_tokens=10))
    assert [e.type for e in events][:2] == ["message-start", "content-start"]
    assert events[-1].type == "message-end"
    text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
    assert text == "tok " * 10
    (fp,) = fps
    assert (fp.input_tokens, fp.output_tokens) == (INPUT, 10) and not fp.warnings


def test_chat_stream_early_break(client: Any) -> None:
    with capture() as fps:
        stream = client.chat_stream(model="command-a-03-2025", messages=MESSAGES)
        for event in stream:
            if event.type == "content-delta":
                break
        stream.close()
    (fp,) = fps
    assert fp.output_tokens == 4  # one delta of four tokens, estimated from its text
    assert fp.input_tokens == BILLED_IN and any("estimated" in w for w in fp.warnings)


def test_chat_stream_garbage_collected(client: Any) -> None:
    with capture() as fps:
        stream = client.chat_stream(model="command-a-03-2025", messages=MESSAGES)
        next(iter(stream))
        del stream
        gc.collect()
    (fp,) = fps  # finished by the collection, with what was read so far: no output text yet
    assert (fp.outcome, fp.input_tokens, fp.output_tokens) == ("ok", BILLED_IN, 0)
    assert any("estimated" in w for w in fp.warnings)


def test_async_chat_and_stream(aclient: Any) -> None:
    async def main() -> None:
        r = await aclient.chat(model="command-r7b", messages=MESSAGES, max_tokens=3)
        assert isinstance(r, V2_CHAT_RESPONSE)
        async for _e in aclient.chat_stream(model="command-r7b", messages=MESSAGES,
                                            max_tokens=5):
            pass
        early = aclient.chat_stream(model="command-r7b", messages=MESSAGES)
        async for e in early:
            if e.type == "content-delta":
                break
        await early.aclose()

    with capture() as fps:
        asyncio.run(main())
    assert [fp.output_tokens for fp in fps] == [3, 5, 4]
    assert any("estimated" in w for w in fps[2].warnings)


def test_embed_v2(client: Any, aclient: Any) -> None:
    texts = ["abcdefgh", "ijkl"]
    with capture() as fps:
        r = client.embed(model="embed-v4.0", texts=texts, input_type="search_document",
                         embedding_types=["float"])
        asyncio.run(aclient.embed(model="embed-v4.0", texts=texts,
                                  input_type="search_query", embedding_types=["float"]))
    assert isinstance(r, cohere.EmbedByTypeResponse)
    assert [(fp.operation, fp.input_tokens, fp.output_tokens) for fp in fps] == [
        ("embeddings", 3, 0)] * 2


@pytest.mark.parametrize("status, exc_name", [(429, "TooManyRequestsError"),
                                              (500, "InternalServerError")])
def test_provider_error(client: Any, aclient: Any, status: int, exc_name: str) -> None:
    exc_type = getattr(cohere, exc_name)
    assert issubclass(exc_type, cohere_core.ApiError)

    async def main() -> None:
        with pytest.raises(exc_type):
            await aclient.chat(model=f"error-{status}", messages=MESSAGES)
        with pytest.raises(exc_type):
            async for _e in aclient.chat_stream(model=f"error-{status}", messages=MESSAGES):
                pass

    with capture() as fps:
        with pytest.raises(exc_type) as info:
            client.chat(model=f"error-{status}", messages=MESSAGES)
        assert info.value.status_code == status
        with pytest.raises(exc_type):
            list(client.chat_stream(model=f"error-{status}", messages=MESSAGES))
        asyncio.run(main())
    assert [fp.outcome for fp in fps] == ["error"] * 4
    assert all(fp.input_tokens == fp.output_tokens == 0 for fp in fps)


def test_v1_client(simulator: Any) -> None:
    instrument("cohere")
    v1 = cohere.Client(api_key="k", base_url=simulator.url, **NO_RETRIES)
    with capture() as fps:
        r = v1.chat(message=SECRET, model="command-r", max_tokens=6)
        events = list(v1.chat_stream(message=SECRET, max_tokens=8))
        e = v1.embed(texts=["abcd"] * 100, model="embed-english-v3.0",
                     input_type="search_document")
    assert isinstance(r, cohere.NonStreamedChatResponse)
    assert events[-1].event_type == "stream-end"
    assert len(e.embeddings) == 100
    assert [(fp.model, fp.operation, fp.input_tokens, fp.output_tokens) for fp in fps] == [
        ("command-r", "chat", INPUT, 6), ("command-r-plus", "chat", INPUT, 8),
        ("embed-english-v3.0", "embeddings", 100, 0)]


def test_v1_async(simulator: Any) -> None:
    instrument("cohere")
    v1 = cohere.AsyncClient(api_key="k", base_url=simulator.url, **NO_RETRIES)

    async def main() -> None:
        await v1.chat(message=SECRET, model="command-r")
        async for _e in v1.chat_stream(message=SECRET, model="command-r", max_tokens=4):
            pass
        await v1.embed(texts=["abcd"], model="embed-english-v3.0", input_type="search_query")

    with capture() as fps:
        asyncio.run(main())
    assert [(fp.operation, fp.output_tokens) for fp in fps] == [
        ("chat", 16), ("chat", 4), ("embeddings", 0)]


def test_uninstrument_restores_and_idempotent(simulator: Any) -> None:
    original = v2_client.V2Client.__dict__["chat"]
    assert instrument("cohere").libraries == instrument("cohere").libraries == ["cohere"]
    assert v2_client.V2Client.__dict__["chat"] is not original
    uninstrument("cohere")
    assert v2_client.V2Client.__dict__["chat"] is original
    c = cohere.ClientV2(api_key="k", base_url=simulator.url, **NO_RETRIES)
    with capture() as fps:
        c.chat(model="command-a-03-2025", messages=MESSAGES)
    assert fps == []


def test_meter_around_counts_once(client: Any) -> None:
    @wattmeter.meter(model="rag-pipeline", provider="self-hosted")
    def outer() -> Any:
        return client.chat(model="command-a-03-2025", messages=MESSAGES)

    with capture() as fps:
        outer()
    assert len(fps) == 1


def test_span_details_v2_and_v1(span_details: Any, client: Any, simulator: Any,
                                sim_server: tuple[str, int]) -> None:
    """server.address / server.port from the base URL; the response id and finish reason
    of v2 and v1 chat, plain and streamed (v1 streams name the response at their end)."""
    r = client.chat(model="command-a-03-2025", messages=MESSAGES, max_tokens=3)
    list(client.chat_stream(model="command-a-03-2025", messages=MESSAGES, max_tokens=3))
    v1 = cohere.Client(api_key="sim-key", base_url=simulator.url, **NO_RETRIES)
    r1 = v1.chat(message=SECRET, max_tokens=3)
    events = list(v1.chat_stream(message=SECRET, max_tokens=3))
    details = span_details()
    assert details[0] == (*sim_server, r.id, ("COMPLETE",))
    assert details[1][:2] == sim_server and details[1][2] and details[1][3] == ("COMPLETE",)
    assert details[2] == (*sim_server, r1.response_id, ("COMPLETE",))
    assert details[3] == (*sim_server, events[-1].response.response_id, ("COMPLETE",))
