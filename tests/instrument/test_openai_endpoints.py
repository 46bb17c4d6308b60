"""openai responses, legacy completions, embeddings, images, audio; Azure and provider hosts."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

import wattmeter
from wattmeter._usage import Usage
from wattmeter.instrument._openai_hosts import provider_for_host
from wattmeter.testing import capture


def test_responses_create_stream_helper_and_parse(client: openai.OpenAI) -> None:
    with capture() as fps:
        r = client.responses.create(model="gpt-5", input="hello penguins", max_output_tokens=8)
        assert isinstance(r, openai.types.responses.Response)
        events = list(client.responses.create(model="gpt-4o", input="hello", stream=True,
                                              max_output_tokens=3))
        with client.responses.stream(model="gpt-4o", input="hi", max_output_tokens=5) as s:
            assert s.get_final_response().output_text == "tok " * 5
        with client.responses.stream(model="gpt-4o", input="hi", max_output_tokens=50) as s:
            for _e in s:
                break
        client.responses.parse(model="gpt-4o", input="hi", max_output_tokens=2)
    assert events[-1].type == "response.completed"
    got = [(f.operation, f.input_tokens, f.output_tokens, f.reasoning_tokens) for f in fps]
    assert got[:3] == [("chat", 4, 8, 4), ("chat", 2, 3, 0), ("chat", 1, 5, 0)]
    assert fps[3].warnings and got[4] == ("chat", 1, 2, 0)
    assert "penguins" not in repr(fps)


def test_responses_async_stream(client: openai.OpenAI, simulator: Any) -> None:
    async def main() -> None:
        ac = openai.AsyncOpenAI(base_url=simulator.url + "/v1", api_key="k", max_retries=0)
        await ac.responses.create(model="gpt-4o", input="hi", max_output_tokens=2)
        stream = await ac.responses.create(model="gpt-4o", input="hi", stream=True,
                                           max_output_tokens=3)
        async for _e in stream:
            pass
        async with ac.responses.stream(model="gpt-4o", input="hi", max_output_tokens=4) as s:
            await s.get_final_response()

    with capture() as fps:
        asyncio.run(main())
    assert [f.output_tokens for f in fps] == [2, 3, 4]


def test_legacy_completions(client: openai.OpenAI) -> None:
    with capture() as fps:
        client.completions.create(model="gpt-3.5-turbo-instruct", prompt="abcdefgh",
                                  max_tokens=3)
        chunks = list(client.completions.create(model="gpt-3.5-turbo-instruct",
                                                prompt="abcdefgh", max_tokens=4, stream=True))
    assert all(c.choices for c in chunks)
    assert [(f.operation, f.input_tokens, f.output_tokens) for f in fps] == [
        ("completion", 2, 3), ("completion", 2, 4)]


def test_embeddings(client: openai.OpenAI) -> None:
    with capture() as fps:
        r = client.embeddings.create(model="text-embedding-3-small", input=["abcd", "efghijkl"])
    assert len(r.data) == 2
    assert [(f.operation, f.input_tokens, f.output_tokens) for f in fps] == [
        ("embeddings", 3, 0)]


def test_images(client: openai.OpenAI, usages: list[Usage]) -> None:
    client.images.generate(model="gpt-image-1", prompt="a cat", n=2, size="1024x1536")
    client.images.generate(model="dall-e-3", prompt="a cat")
    client.images.edit(model="dall-e-2", image=("a.png", b"\x89PNG" * 4), prompt="x",
                       size="512x512")
    client.images.create_variation(image=("a.png", b"\x89PNG"), n=3)
    got = [(u.operation, u.model, u.images, u.width, u.height) for u in usages]
    assert got == [("image", "gpt-image-1", 2, 1024, 1536), ("image", "dall-e-3", 1, 1024, 1024),
                   ("image", "dall-e-2", 1, 512, 512), ("image", "dall-e-2", 3, 1024, 1024)]
    assert usages[0].output_tokens == 1584 * 2 and usages[0].steps is None
    assert usages[1].warnings


def test_speech_and_transcriptions(client: openai.OpenAI, usages: list[Usage]) -> None:
    audio = client.audio.speech.create(model="tts-1", voice="alloy", input="hello world")
    assert audio.content.startswith(b"\xff\xfb")
    with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="alloy", input="hi there") as resp:
        resp.read()
    client.audio.transcriptions.create(model="whisper-1", file=("a.mp3", b"x" * 32000))
    client.audio.transcriptions.create(model="whisper-1", file=("a.mp3", b"x" * 8000),
                                       response_format="verbose_json")
    client.audio.translations.create(model="whisper-1", file=("a.wav", b"x" * 64000))
    client.audio.transcriptions.create(model="gpt-4o-transcribe", file=("a.mp3", b"x" * 1600))
    got = [(u.operation, u.characters, u.audio_seconds) for u in usages]
    assert got[:2] == [("speech", 11, None), ("speech", 8, None)]
    assert got[2:] == [("transcription", None, 2.0), ("transcription", None, 0.5),
                       ("transcription", None, 2.0), ("transcription", None, 0.1)]
    assert not usages[2].warnings and not usages[3].warnings
    assert usages[4].warnings  # translation: no duration reported, estimated from size
    assert usages[5].input_tokens == 2 and usages[5].warnings


def test_provider_errors_on_other_endpoints(client: openai.OpenAI) -> None:
    with capture() as fps:
        with pytest.raises(openai.RateLimitError):
            client.embeddings.create(model="error-429", input="x")
        with pytest.raises(openai.InternalServerError):
            client.images.generate(model="error-500", prompt="x")
        with pytest.raises(openai.RateLimitError):
            client.responses.create(model="error-429", input="x", stream=True)
    assert [f.outcome for f in fps] == ["error"] * 3


def test_azure_client(simulator: Any) -> None:
    wattmeter.instrument("openai")
    az = openai.AzureOpenAI(azure_endpoint=simulator.url, api_key="k",
                            api_version="2024-10-21", max_retries=0)
    with capture() as fps:
        az.chat.completions.create(model="my-gpt4o-deployment",
                                   messages=[{"role": "user", "content": "hi"}], max_tokens=3)
    assert [(f.provider, f.model, f.output_tokens) for f in fps] == [
        ("azure", "my-gpt4o-deployment", 3)]
    assert fps[0].response_model == "my-gpt4o-deployment"


def test_provider_hosts_option_names_the_simulator(simulator: Any) -> None:
    wattmeter.configure(provider_hosts={"127.0.0.1": "groq"})
    wattmeter.instrument("openai")
    c = openai.OpenAI(base_url=simulator.url + "/v1", api_key="k", max_retries=0)
    with capture() as fps:
        c.embeddings.create(model="m", input="x")
    assert fps[0].provider == "groq"


@pytest.mark.parametrize("host,name", [
    ("api.openai.com", "openai"), ("myres.openai.azure.com", "azure"),
    ("api.groq.com", "groq"), ("api.together.xyz", "together"),
    ("api.deepseek.com", "deepseek"), ("api.mistral.ai", "mistral"),
    ("localhost", "self-hosted"), ("127.0.0.1", "self-hosted"), ("10.1.2.3", "self-hosted"),
    ("vllm", "self-hosted"), ("ollama.local", "self-hosted"),
])
def test_provider_for_host(host: str, name: str) -> None:
    assert provider_for_host(host) == name


def test_provider_hosts_override_and_subdomains() -> None:
    wattmeter.configure(provider_hosts={"example.com": "acme"})
    assert provider_for_host("llm.example.com") == "acme"
    with pytest.raises(ValueError, match="provider_hosts"):
        wattmeter.configure(provider_hosts="not json")
