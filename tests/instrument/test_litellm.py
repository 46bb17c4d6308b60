"""litellm completion / embedding / image_generation through the local simulator."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # offline: no cost-map fetch

from collections.abc import Iterator
from typing import Any

import pytest
import wrapt

litellm = pytest.importorskip("litellm")
from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper  # noqa: E402
from litellm.types.utils import EmbeddingResponse, ImageResponse, ModelResponse  # noqa: E402

import wattmeter  # noqa: E402
from wattmeter._usage import Usage  # noqa: E402
from wattmeter.instrument.litellm import provider_name  # noqa: E402
from wattmeter.testing import capture  # noqa: E402

litellm.telemetry = False
MESSAGES = [{"role": "user", "content": "Name three prime numbers, briefly."}]
PROMPT_TOKENS = (len(MESSAGES[0]["content"]) + 3) // 4


def metering_warnings(fp: Any) -> tuple[str, ...]:
    """The footprint's warnings from metering (the estimator's notes on models left out)."""
    return tuple(w for w in fp.warnings if not w.startswith(("unknown model", "model '")))


@pytest.fixture
def kw(simulator: Any) -> Iterator[dict[str, Any]]:
    wattmeter.instrument("litellm")
    yield {"api_base": simulator.url + "/v1", "api_key": "sk-test", "num_retries": 0,
           "max_retries": 0}
    wattmeter.uninstrument()


def test_completion_records_litellm_usage(kw: dict[str, Any]) -> None:
    with capture() as fps:
        out = litellm.completion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=5, **kw)
    assert isinstance(out, ModelResponse)
    [fp] = fps
    assert (fp.provider, fp.model, fp.operation) == ("self-hosted", "gpt-4o", "chat")
    assert (fp.input_tokens, fp.output_tokens) == (out.usage.prompt_tokens, 5)
    assert fp.input_tokens == PROMPT_TOKENS and metering_warnings(fp) == ()
    assert "prime" not in repr(fp)


def test_provider_hosts_and_positional_arguments(kw: dict[str, Any]) -> None:
    wattmeter.configure(provider_hosts={"127.0.0.1": "openai"})
    with capture() as fps:
        litellm.completion("openai/gpt-4o-mini", MESSAGES, max_tokens=2, **kw)
    assert [(fp.provider, fp.model, fp.output_tokens) for fp in fps] == [
        ("openai", "gpt-4o-mini", 2)]


def test_stream_asks_for_usage_and_hides_the_usage_chunk(kw: dict[str, Any]) -> None:
    with capture() as fps:
        stream = litellm.completion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=4,
                                    stream=True, **kw)
        assert isinstance(stream, CustomStreamWrapper)
        chunks = list(stream)
    assert all(getattr(c, "usage", None) is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks)
    [fp] = fps
    assert (fp.input_tokens, fp.output_tokens, metering_warnings(fp)) == (PROMPT_TOKENS, 4, ())


def test_stream_with_the_users_stream_options_keeps_its_usage_chunk(kw: dict[str, Any]) -> None:
    with capture() as fps:
        chunks = list(litellm.completion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=3,
                                         stream=True, stream_options={"include_usage": True},
                                         **kw))
    assert chunks[-1].usage.completion_tokens == 3
    assert fps[0].output_tokens == 3


def test_stream_without_usage_is_estimated(kw: dict[str, Any]) -> None:
    wattmeter.configure(stream_usage=False)
    with capture() as fps:
        list(litellm.completion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=6,
                                stream=True, **kw))
    [fp] = fps
    assert (fp.input_tokens, fp.output_tokens) == (PROMPT_TOKENS, 6)
    assert metering_warnings(fp)


def test_stream_early_break_and_close(kw: dict[str, Any]) -> None:
    with capture() as fps:
        stream = litellm.completion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=10,
                                    stream=True, **kw)
        seen = 0
        for chunk in stream:
            seen += len(chunk.choices[0].delta.content or "")
            if seen >= 8:
                break
        stream.close()
    [fp] = fps
    assert fp.output_tokens == 2 and metering_warnings(fp)


def test_provider_error_is_recorded_and_raised(kw: dict[str, Any]) -> None:
    with capture() as fps, pytest.raises(litellm.RateLimitError):
        litellm.completion(model="openai/error-429", messages=MESSAGES, **kw)
    assert [(fp.outcome, fp.model, fp.output_tokens) for fp in fps] == [("error", "error-429", 0)]


async def test_acompletion_stream_and_break(kw: dict[str, Any]) -> None:
    with capture() as fps:
        out = await litellm.acompletion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=3,
                                        **kw)
        stream = await litellm.acompletion(model="openai/gpt-4o", messages=MESSAGES,
                                           max_tokens=5, stream=True, **kw)
        assert isinstance(stream, CustomStreamWrapper)
        texts = [c.choices[0].delta.content async for c in stream]
        partial = await litellm.acompletion(model="openai/gpt-4o", messages=MESSAGES,
                                            max_tokens=9, stream=True, **kw)
        async for _chunk in partial:
            break
        await partial.aclose()
    assert isinstance(out, ModelResponse) and "".join(t or "" for t in texts)
    assert [(fp.input_tokens, fp.output_tokens) for fp in fps] == [
        (PROMPT_TOKENS, 3), (PROMPT_TOKENS, 5), (PROMPT_TOKENS, 0)]


async def test_async_provider_error(kw: dict[str, Any]) -> None:
    with capture() as fps, pytest.raises(litellm.InternalServerError):
        await litellm.acompletion(model="openai/error-500", messages=MESSAGES, **kw)
    assert [fp.outcome for fp in fps] == ["error"]


async def test_embedding_sync_and_async(kw: dict[str, Any]) -> None:
    with capture() as fps:
        out = litellm.embedding(model="openai/text-embedding-3-small", input=["abcdefgh", "ab"],
                                **kw)
        await litellm.aembedding(model="openai/text-embedding-3-small", input="abcd", **kw)
    assert isinstance(out, EmbeddingResponse)
    assert [(fp.operation, fp.model, fp.input_tokens, fp.output_tokens) for fp in fps] == [
        ("embeddings", "text-embedding-3-small", out.usage.prompt_tokens, 0),
        ("embeddings", "text-embedding-3-small", 1, 0)]


async def test_image_generation_sync_and_async(kw: dict[str, Any], usages: list[Usage]) -> None:
    with capture() as fps:
        out = litellm.image_generation(prompt="a lighthouse", model="openai/dall-e-3",
                                       size="1024x1792", **kw)
        await litellm.aimage_generation(prompt="a lighthouse", model="openai/dall-e-3", **kw)
    assert isinstance(out, ImageResponse)
    assert [(fp.operation, fp.model) for fp in fps] == [("image", "dall-e-3")] * 2
    assert [(u.images, u.width, u.height) for u in usages] == [(1, 1024, 1792), (1, 1024, 1024)]


def test_counted_once_over_the_instrumented_openai_library(kw: dict[str, Any]) -> None:
    wattmeter.instrument("openai")
    with capture() as fps:
        litellm.completion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=2, **kw)
        list(litellm.completion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=3,
                                stream=True, **kw))
    assert [(fp.model, fp.output_tokens) for fp in fps] == [("gpt-4o", 2), ("gpt-4o", 3)]


def test_counted_once_with_meter_around_it(kw: dict[str, Any]) -> None:
    @wattmeter.meter(model="gpt-4o", provider="openai")
    def ask() -> Any:
        return litellm.completion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=2, **kw)

    with capture() as fps:
        ask()
    assert [(fp.input_tokens, fp.output_tokens) for fp in fps] == [(PROMPT_TOKENS, 2)]


def test_uninstrument_restores_and_instrument_is_idempotent(kw: dict[str, Any]) -> None:
    wattmeter.instrument("litellm")
    assert isinstance(litellm.completion, wrapt.FunctionWrapper)
    with capture() as fps:
        litellm.completion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1, **kw)
    assert len(fps) == 1
    wattmeter.uninstrument("litellm")
    assert not isinstance(litellm.completion, wrapt.FunctionWrapper)
    with capture() as fps:
        litellm.completion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=1, **kw)
    assert fps == []


def test_provider_names() -> None:
    assert provider_name("gemini") == provider_name("vertex_ai") == "google"
    assert provider_name("anthropic") == "anthropic"
    assert provider_name("ollama_chat") == provider_name("hosted_vllm") == "self-hosted"
    assert provider_name("openai") == "openai"
    assert provider_name("openai", "https://api.groq.com/openai/v1") == "groq"
    assert provider_name("openai", "http://10.0.0.7:8000/v1") == "self-hosted"
    assert provider_name(None) == "unknown"


def test_anthropic_backend_counted_once(simulator: Any, kw: dict[str, Any]) -> None:
    wattmeter.instrument("anthropic")
    kw = {**kw, "api_base": simulator.url}
    model = "anthropic/claude-3-5-haiku-20241022"
    with capture() as fps:
        out = litellm.completion(model=model, messages=MESSAGES, max_tokens=4, **kw)
        chunks = list(litellm.completion(model=model, messages=MESSAGES, max_tokens=3,
                                         stream=True, **kw))
    assert isinstance(out, ModelResponse)
    assert all(getattr(c, "usage", None) is None for c in chunks)
    assert [(fp.provider, fp.model, fp.input_tokens, fp.output_tokens) for fp in fps] == [
        ("anthropic", "claude-3-5-haiku-20241022", out.usage.prompt_tokens, 4),
        ("anthropic", "claude-3-5-haiku-20241022", out.usage.prompt_tokens, 3)]
    assert [metering_warnings(fp) for fp in fps] == [(), ()]


def test_span_details_plain_and_streamed(span_details: Any, kw: dict[str, Any],
                                         sim_server: tuple[str, int]) -> None:
    """server.address / server.port from ``api_base``; ModelResponse id; finish reasons."""
    out = litellm.completion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=3, **kw)
    chunks = list(litellm.completion(model="openai/gpt-4o", messages=MESSAGES, stream=True,
                                     **kw))
    plain, streamed = span_details()
    assert plain == (*sim_server, out.id, ("length",))
    assert streamed == (*sim_server, chunks[0].id, ("stop",))
