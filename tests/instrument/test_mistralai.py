"""mistralai through its real client against the local simulator: every call metered once."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

pytest.importorskip("mistralai")

try:  # 2.x and later: the SDK under mistralai.client, errors in their own module
    from mistralai.client import Mistral, errors, models
    from mistralai.client import chat as chat_module
    from mistralai.client.utils import eventstreaming
except ImportError:  # 1.x (the declared floor): at the top level, errors among the models
    from mistralai import Mistral, models  # type: ignore[no-redef]
    from mistralai import chat as chat_module  # type: ignore[no-redef]
    from mistralai import models as errors  # type: ignore[no-redef]
    from mistralai.utils import eventstreaming  # type: ignore[no-redef]

import wattmeter
from wattmeter.instrument import instrument, uninstrument
from wattmeter.testing import capture

SECRET = "a confidential prompt about the quarterly numbers"
MESSAGES = [{"role": "user", "content": SECRET}]
PROMPT_TOKENS = (len(SECRET) + 3) // 4


@pytest.fixture
def client(simulator: Any) -> Mistral:
    instrument("mistralai")
    return Mistral(api_key="sim-key", server_url=simulator.url + "/mistral")


def test_complete_tokens_equal_reported_usage(client: Mistral) -> None:
    with capture() as fps:
        r = client.chat.complete(model="mistral-small-latest", messages=MESSAGES, max_tokens=9)
    assert isinstance(r, models.ChatCompletionResponse)
    (fp,) = fps
    assert (fp.provider, fp.model, fp.operation) == ("mistral", "mistral-small-latest", "chat")
    assert fp.input_tokens == r.usage.prompt_tokens == PROMPT_TOKENS
    assert fp.output_tokens == r.usage.completion_tokens == 9
    assert fp.cached_input_tokens == 0 and not fp.warnings and fp.outcome == "ok"
    assert SECRET not in repr(fp)


def test_cached_prompt_tokens(client: Mistral) -> None:
    with capture() as fps:
        client.chat.complete(model="mistral-small-latest", messages=MESSAGES,
                             prompt_cache_key="conversation-1")
    (fp,) = fps
    assert fp.cached_input_tokens == PROMPT_TOKENS // 2


def test_stream_usage_from_last_chunk(client: Mistral) -> None:
    with capture() as fps:
        stream = client.chat.stream(model="mistral-small-latest", messages=MESSAGES,
                                    max_tokens=10)
        assert isinstance(stream, eventstreaming.EventStream)
        with stream as events:
            texts = [e.data.choices[0].delta.content for e in events]
    assert "".join(t for t in texts if isinstance(t, str)) == "tok " * 10
    (fp,) = fps
    assert (fp.input_tokens, fp.output_tokens) == (PROMPT_TOKENS, 10)
    assert not fp.warnings


def test_stream_early_break_and_close(client: Mistral) -> None:
    with capture() as fps:
        stream = client.chat.stream(model="mistral-small-latest", messages=MESSAGES)
        for n, _event in enumerate(stream):
            if n == 1:
                break
        stream.close()
    (fp,) = fps
    assert fp.input_tokens == PROMPT_TOKENS
    assert fp.output_tokens == 4  # role chunk + one 4-token chunk, estimated from text
    assert any("estimated" in w for w in fp.warnings)


def test_stream_garbage_collected(client: Mistral) -> None:
    with capture() as fps:
        stream = client.chat.stream(model="mistral-small-latest", messages=MESSAGES)
        next(iter(stream))
        del stream
        gc.collect()
    (fp,) = fps  # finished by the collection, with what was read so far: no output text yet
    assert (fp.outcome, fp.input_tokens, fp.output_tokens) == ("ok", PROMPT_TOKENS, 0)
    assert any("estimated" in w for w in fp.warnings)


def test_async_complete_and_stream(client: Mistral) -> None:
    async def main() -> None:
        r = await client.chat.complete_async(model="mistral-small-latest", messages=MESSAGES)
        assert isinstance(r, models.ChatCompletionResponse)
        stream = await client.chat.stream_async(model="mistral-large-latest",
                                                messages=MESSAGES, max_tokens=6)
        assert isinstance(stream, eventstreaming.EventStreamAsync)
        async with stream as events:
            async for _e in events:
                pass
        early = await client.chat.stream_async(model="mistral-small-latest", messages=MESSAGES)
        async for _e in early:
            break
        await early.close()

    with capture() as fps:
        asyncio.run(main())
    assert [(fp.model, fp.output_tokens) for fp in fps] == [
        ("mistral-small-latest", 16), ("mistral-large-latest", 6), ("mistral-small-latest", 0)]
    assert all(fp.input_tokens == PROMPT_TOKENS for fp in fps)


def test_fim_is_a_completion(client: Mistral) -> None:
    with capture() as fps:
        client.fim.complete(model="codestral-latest", prompt="def add(a, b):", suffix="",
                            max_tokens=5)
        list(client.fim.stream(model="codestral-latest", prompt="def add(a, b):", max_tokens=5))
    assert [(fp.operation, fp.output_tokens) for fp in fps] == [("completion", 5)] * 2


def test_embeddings(client: Mistral) -> None:
    async def main() -> Any:
        return await client.embeddings.create_async(model="mistral-embed", inputs="abcd")

    with capture() as fps:
        r = client.embeddings.create(model="mistral-embed", inputs=["abcdefgh", "ijkl"])
        asyncio.run(main())
    assert isinstance(r, models.EmbeddingResponse)
    assert [(fp.operation, fp.input_tokens, fp.output_tokens) for fp in fps] == [
        ("embeddings", 3, 0), ("embeddings", 1, 0)]


@pytest.mark.parametrize("status", [429, 500])
def test_provider_error(client: Mistral, status: int) -> None:
    async def main() -> None:
        with pytest.raises(errors.SDKError):
            await client.chat.stream_async(model=f"error-{status}", messages=MESSAGES)

    with capture() as fps:
        with pytest.raises(errors.SDKError) as info:
            client.chat.complete(model=f"error-{status}", messages=MESSAGES)
        assert info.value.status_code == status
        with pytest.raises(errors.SDKError):
            client.chat.stream(model=f"error-{status}", messages=MESSAGES)
        asyncio.run(main())
    assert [fp.outcome for fp in fps] == ["error"] * 3
    assert all(fp.input_tokens == fp.output_tokens == 0 for fp in fps)


def test_uninstrument_restores_and_idempotent(simulator: Any) -> None:
    original = chat_module.Chat.__dict__["complete"]
    assert instrument("mistralai").libraries == instrument("mistral").libraries == ["mistralai"]
    assert chat_module.Chat.__dict__["complete"] is not original
    uninstrument("mistralai")
    assert chat_module.Chat.__dict__["complete"] is original
    c = Mistral(api_key="k", server_url=simulator.url + "/mistral")
    with capture() as fps:
        c.chat.complete(model="mistral-small-latest", messages=MESSAGES)
    assert fps == []


def test_meter_around_counts_once(client: Mistral) -> None:
    @wattmeter.meter(model="agent", provider="self-hosted")
    def outer() -> Any:
        return client.chat.complete(model="mistral-small-latest", messages=MESSAGES)

    with capture() as fps:
        outer()
    assert len(fps) == 1


def test_bare_simulator_url_still_metered(simulator: Any) -> None:
    """At the bare URL the OpenAI-shaped routes answer; the SDK parses them, tokens agree."""
    instrument("mistralai")
    c = Mistral(api_key="k", server_url=simulator.url)
    with capture() as fps:
        r = c.chat.complete(model="mistral-small-latest", messages=MESSAGES, max_tokens=4)
    (fp,) = fps
    assert fp.input_tokens == r.usage.prompt_tokens and fp.output_tokens == 4


def test_span_details_plain_and_streamed(span_details: Any, client: Mistral,
                                         sim_server: tuple[str, int]) -> None:
    """server.address / server.port from ``server_url``; completion id; finish reasons."""
    r = client.chat.complete(model="mistral-small-latest", messages=MESSAGES, max_tokens=3)
    with client.chat.stream(model="mistral-small-latest", messages=MESSAGES,
                            max_tokens=4) as events:
        ids = {e.data.id for e in events}
    plain, streamed = span_details()
    assert plain == (*sim_server, r.id, ("stop",))
    assert streamed == (*sim_server, ids.pop(), ("stop",)) and not ids
