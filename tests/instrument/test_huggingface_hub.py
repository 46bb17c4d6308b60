"""huggingface_hub InferenceClient / AsyncInferenceClient through the local simulator."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import wrapt
from huggingface_hub import AsyncInferenceClient, InferenceClient
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.inference._generated.types import (
    AutomaticSpeechRecognitionOutput,
    ChatCompletionOutput,
    ChatCompletionStreamOutput,
    TextGenerationOutput,
    TextGenerationStreamOutput,
)

import wattmeter
from wattmeter._usage import Usage
from wattmeter.instrument import huggingface_hub as hf_mod
from wattmeter.instrument._huggingface_audio import ASSUMED_BITRATE, audio_seconds
from wattmeter.testing import capture
from wattmeter.testing.simulator.huggingface import wav

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
MESSAGES = [{"role": "user", "content": "What is the capital of France, in one word?"}]
PROMPT_TOKENS = (len(MESSAGES[0]["content"]) + 3) // 4


def metering_warnings(fp: Any) -> tuple[str, ...]:
    """The footprint's warnings from metering (the estimator's notes on models left out)."""
    return tuple(w for w in fp.warnings if not w.startswith(("unknown model", "model '")))


@pytest.fixture
def url(simulator: Any) -> Iterator[str]:
    wattmeter.instrument("huggingface_hub")
    yield f"{simulator.url}/hf/models/{MODEL}"
    wattmeter.uninstrument()


# --- chat completion ---------------------------------------------------------------


def test_chat_records_the_usage_the_server_sent(url: str) -> None:
    with capture() as fps:
        out = InferenceClient(model=url).chat_completion(MESSAGES, max_tokens=7)
    assert isinstance(out, ChatCompletionOutput)
    [fp] = fps
    assert (fp.provider, fp.model, fp.operation) == ("self-hosted", MODEL, "chat")
    assert (fp.input_tokens, fp.output_tokens) == (out.usage.prompt_tokens, 7)
    assert fp.input_tokens == PROMPT_TOKENS and metering_warnings(fp) == () and fp.outcome == "ok"
    assert "capital" not in repr(fp)  # no prompt text anywhere


def test_chat_through_the_openai_style_alias_and_base_url(simulator: Any, url: str) -> None:
    client = InferenceClient(base_url=simulator.url + "/hf/v1")
    with capture() as fps:
        out = client.chat.completions.create(messages=MESSAGES, model="my-org/my-model",
                                             max_tokens=3)
    assert out.model == "my-org/my-model"
    assert [(fp.model, fp.output_tokens) for fp in fps] == [("my-org/my-model", 3)]


def test_chat_stream_asks_for_usage_and_hides_the_usage_chunk(url: str) -> None:
    with capture() as fps:
        client = InferenceClient(model=url)  # the client owns the stream's connection
        chunks = list(client.chat_completion(MESSAGES, max_tokens=5, stream=True))
    assert len(chunks) == 5 and all(isinstance(c, ChatCompletionStreamOutput) for c in chunks)
    assert "".join(c.choices[0].delta.content for c in chunks)  # choices[0] always there
    [fp] = fps
    assert (fp.input_tokens, fp.output_tokens, metering_warnings(fp)) == (PROMPT_TOKENS, 5, ())


def test_chat_stream_with_the_users_own_stream_options_keeps_the_usage_chunk(url: str) -> None:
    client = InferenceClient(model=url)
    with capture() as fps:
        chunks = list(client.chat_completion(
            MESSAGES, max_tokens=4, stream=True, stream_options={"include_usage": True}))
    assert len(chunks) == 5 and chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4
    assert fps[0].output_tokens == 4


def test_chat_stream_without_usage_estimates_and_says_so(url: str) -> None:
    wattmeter.configure(stream_usage=False)
    client = InferenceClient(model=url)
    with capture() as fps:
        chunks = list(client.chat_completion(MESSAGES, max_tokens=6, stream=True))
    assert len(chunks) == 6
    [fp] = fps
    assert (fp.input_tokens, fp.output_tokens) == (PROMPT_TOKENS, 6)
    assert any("estimated" in w for w in metering_warnings(fp))


def test_chat_stream_early_break_records_what_was_read(url: str) -> None:
    client = InferenceClient(model=url)
    with capture() as fps:
        stream = client.chat_completion(MESSAGES, max_tokens=10, stream=True)
        for i, _chunk in enumerate(stream):
            if i == 2:
                break
        assert fps == []  # not finished until closed or collected
        stream.close()
        stream.close()
    [fp] = fps
    assert fp.output_tokens == 3 and any("estimated" in w for w in metering_warnings(fp))


def test_chat_provider_error_is_recorded_and_raised(simulator: Any, url: str) -> None:
    client = InferenceClient(model=f"{simulator.url}/hf/models/error-429")
    with capture() as fps, pytest.raises(HfHubHTTPError) as info:
        client.chat_completion(MESSAGES)
    assert info.value.response.status_code == 429
    [fp] = fps
    assert (fp.outcome, fp.model, fp.input_tokens, fp.output_tokens) == ("error", "error-429", 0, 0)


async def test_async_chat_and_stream(url: str) -> None:
    client = AsyncInferenceClient(model=url)
    with capture() as fps:
        out = await client.chat_completion(MESSAGES, max_tokens=4)
        stream = await client.chat_completion(MESSAGES, max_tokens=3, stream=True)
        chunks = [c async for c in stream]
    assert isinstance(out, ChatCompletionOutput) and len(chunks) == 3
    assert [(fp.input_tokens, fp.output_tokens) for fp in fps] == [(PROMPT_TOKENS, 4),
                                                                   (PROMPT_TOKENS, 3)]


async def test_async_stream_early_break_and_aclose(url: str) -> None:
    client = AsyncInferenceClient(model=url)
    with capture() as fps:
        stream = await client.chat_completion(MESSAGES, max_tokens=8, stream=True)
        async for _chunk in stream:
            break
        await stream.aclose()
    assert [fp.output_tokens for fp in fps] == [1]


async def test_async_provider_error(simulator: Any, url: str) -> None:
    client = AsyncInferenceClient(model=f"{simulator.url}/hf/models/error-500")
    errors: tuple[type[BaseException], ...] = (HfHubHTTPError,)
    try:  # before 1.0 the async client ran on aiohttp and raised its error unchanged
        import aiohttp

        errors += (aiohttp.ClientResponseError,)
    except ImportError:
        pass
    with capture() as fps, pytest.raises(errors):
        await client.chat_completion(MESSAGES)
    assert [fp.outcome for fp in fps] == ["error"]


# --- text generation -----------------------------------------------------------------


def test_text_generation_plain_text_is_estimated(url: str) -> None:
    with capture() as fps:
        out = InferenceClient(model=url).text_generation("Once upon a time", max_new_tokens=9)
    assert isinstance(out, str)
    [fp] = fps
    assert (fp.operation, fp.input_tokens, fp.output_tokens) == ("completion", 4, 9)
    assert any("estimated" in w for w in metering_warnings(fp))


def test_text_generation_details_give_exact_counts(url: str) -> None:
    client = InferenceClient(model=url)
    with capture() as fps:
        out = client.text_generation("Once upon a time", max_new_tokens=5, details=True,
                                     decoder_input_details=True)
    assert isinstance(out, TextGenerationOutput) and out.details.generated_tokens == 5
    assert (fps[0].input_tokens, fps[0].output_tokens, metering_warnings(fps[0])) == (4, 5, ())


def test_text_generation_stream_counts_events(url: str) -> None:
    client = InferenceClient(model=url)
    with capture() as fps:
        tokens = list(client.text_generation("Once upon a time", max_new_tokens=6, stream=True))
        detailed = list(client.text_generation("Once upon a time", max_new_tokens=3, stream=True,
                                               details=True))
    assert all(isinstance(t, str) for t in tokens) and len(tokens) == 6
    assert all(isinstance(t, TextGenerationStreamOutput) for t in detailed)
    assert [(fp.input_tokens, fp.output_tokens) for fp in fps] == [(4, 6), (4, 3)]
    assert metering_warnings(fps[0]) and metering_warnings(fps[1]) == ()


async def test_async_text_generation_stream_and_break(url: str) -> None:
    client = AsyncInferenceClient(model=url)
    with capture() as fps:
        assert isinstance(await client.text_generation("Hello", max_new_tokens=2), str)
        stream = await client.text_generation("Hello", max_new_tokens=5, stream=True)
        async for _token in stream:
            break
        await stream.aclose()
    assert [fp.output_tokens for fp in fps] == [2, 1]


# --- embeddings, images, speech, transcription -------------------------------------


def test_feature_extraction_estimates_tokens(url: str) -> None:
    with capture() as fps:
        out = InferenceClient(model=url).feature_extraction(["abcdefgh", "abcd"])
    assert isinstance(out, np.ndarray) and out.shape[0] == 2
    [fp] = fps
    assert (fp.operation, fp.input_tokens, fp.output_tokens) == ("embeddings", 3, 0)
    assert metering_warnings(fp)


def test_text_to_image_records_size_and_steps(url: str, usages: list[Usage]) -> None:
    from PIL.Image import Image

    client = InferenceClient(model=f"{url.rsplit('/models/', 1)[0]}/models/black-forest-labs/"
                                   "FLUX.1-schnell")
    with capture() as fps:
        img = client.text_to_image("a red fox", width=64, height=48, num_inference_steps=4)
        default = client.text_to_image("a red fox")
    assert isinstance(img, Image) and img.size == (64, 48)
    assert [fp.operation for fp in fps] == ["image", "image"]
    assert fps[0].model == "black-forest-labs/FLUX.1-schnell"
    assert [(u.images, u.width, u.height, u.steps) for u in usages] == [
        (1, 64, 48, 4), (1, *default.size, None)]


def test_text_to_speech_records_characters(simulator: Any, url: str,
                                           usages: list[Usage]) -> None:
    client = InferenceClient(model=f"{simulator.url}/hf/text-to-speech/models/hexgrad/Kokoro-82M")
    with capture() as fps:
        audio = client.text_to_speech("Hello, world.")
    assert isinstance(audio, bytes) and audio[:4] == b"RIFF"
    assert (fps[0].operation, fps[0].model) == ("speech", "hexgrad/Kokoro-82M")
    assert usages[0].characters == len("Hello, world.")


async def test_async_media_tasks(url: str, usages: list[Usage]) -> None:
    client = AsyncInferenceClient(model=url)
    with capture() as fps:
        await client.feature_extraction("abcd")
        await client.text_to_image("x", width=32, height=32)
        await client.automatic_speech_recognition(wav(1.5))
    assert [fp.operation for fp in fps] == ["embeddings", "image", "transcription"]
    assert usages[1].width == 32 and usages[2].audio_seconds == pytest.approx(1.5)


def test_transcription_seconds_from_wav_bytes_and_files(url: str, usages: list[Usage],
                                                        tmp_path: Any) -> None:
    client = InferenceClient(model=url)
    path = tmp_path / "clip.wav"
    path.write_bytes(wav(2.0))
    mp3 = tmp_path / "clip.mp3"
    mp3.write_bytes(b"ID3" + b"\0" * 31997)
    with capture() as fps:
        out = client.automatic_speech_recognition(wav(3.0))
        client.automatic_speech_recognition(path)
        client.automatic_speech_recognition(mp3)
    assert isinstance(out, AutomaticSpeechRecognitionOutput)
    seconds = [u.audio_seconds for u in usages]
    assert seconds[:2] == [pytest.approx(3.0), pytest.approx(2.0)]
    assert seconds[2] == pytest.approx(32000 * 8 / ASSUMED_BITRATE)
    assert metering_warnings(fps[0]) == () and "128 kbit/s" in metering_warnings(fps[2])[0]
    with open(path, "rb") as fh:  # an open file (other providers accept them) is read by name
        assert audio_seconds(fh) == (pytest.approx(2.0), True) and fh.tell() == 0


def test_audio_seconds_reads_flac_headers() -> None:
    rate, total = 16000, 16000 * 5
    streaminfo = (b"\0\x10" * 2 + b"\0" * 6
                  + ((rate << 44) | (0 << 41) | (15 << 36) | total).to_bytes(8, "big"))
    head = b"fLaC" + b"\x80\0\0\x22" + streaminfo + b"\0" * 16
    assert audio_seconds(head) == (pytest.approx(5.0), True)
    assert audio_seconds("https://example.com/a.wav") == (None, False)
    assert audio_seconds(b"RIFF" + struct.pack("<I", 4) + b"WAVE") == (
        pytest.approx(12 * 8 / ASSUMED_BITRATE), False)


# --- provider naming, patching, nesting ----------------------------------------------


def test_provider_names() -> None:
    assert hf_mod._target(InferenceClient(), MODEL) == ("huggingface", MODEL)
    assert hf_mod._target(InferenceClient(provider="fireworks-ai"), MODEL) == ("fireworks", MODEL)
    assert hf_mod._target(InferenceClient(provider="together"), MODEL) == ("together", MODEL)
    assert hf_mod._target(InferenceClient(), MODEL + ":fireworks-ai") == ("fireworks", MODEL)
    assert hf_mod._target(InferenceClient(), MODEL + ":cheapest") == ("huggingface", MODEL)
    endpoint = "https://xyz.us-east-1.aws.endpoints.huggingface.cloud"
    assert hf_mod._target(InferenceClient(), endpoint) == ("huggingface", "unknown")
    assert hf_mod.model_from_url(
        "https://router.huggingface.co/hf-inference/models/BAAI/bge-small-en-v1.5/pipeline/"
        "feature-extraction") == "BAAI/bge-small-en-v1.5"


def test_provider_hosts_names_a_local_endpoint(url: str) -> None:
    wattmeter.configure(provider_hosts={"127.0.0.1": "huggingface"})
    with capture() as fps:
        InferenceClient(model=url).chat_completion(MESSAGES, max_tokens=1)
    assert fps[0].provider == "huggingface"


def test_unknown_model_is_taken_from_the_response_or_warned(simulator: Any, url: str) -> None:
    client = InferenceClient(model=simulator.url + "/hf")
    with capture() as fps:
        client.chat_completion(MESSAGES, max_tokens=1, model="org/served")
        client.text_generation("hi", max_new_tokens=1)
    assert fps[0].model == "org/served" and metering_warnings(fps[0]) == ()
    assert fps[1].model == "unknown"
    assert any("model not known" in w for w in metering_warnings(fps[1]))


def test_uninstrument_restores_and_instrument_is_idempotent(url: str) -> None:
    original = InferenceClient.__dict__["chat_completion"]
    assert isinstance(original, wrapt.FunctionWrapper)
    wattmeter.instrument("huggingface_hub")
    wattmeter.instrument("huggingface")
    with capture() as fps:
        InferenceClient(model=url).chat_completion(MESSAGES, max_tokens=1)
    assert len(fps) == 1
    wattmeter.uninstrument("huggingface_hub")
    assert not isinstance(InferenceClient.__dict__["chat_completion"], wrapt.FunctionWrapper)
    with capture() as fps:
        InferenceClient(model=url).chat_completion(MESSAGES, max_tokens=1)
    assert fps == []


def test_meter_around_an_instrumented_call_counts_once(url: str) -> None:
    @wattmeter.meter(model=MODEL, provider="self-hosted")
    def ask() -> Any:
        return InferenceClient(model=url).chat_completion(MESSAGES, max_tokens=2)

    with capture() as fps:
        ask()
    assert [(fp.input_tokens, fp.output_tokens) for fp in fps] == [(PROMPT_TOKENS, 2)]


def test_text_generation_error_and_abandoned_stream(simulator: Any, url: str) -> None:
    import gc

    from huggingface_hub.errors import OverloadedError

    failing = InferenceClient(model=f"{simulator.url}/hf/models/error-429")
    client = InferenceClient(model=url)
    with capture() as fps:
        with pytest.raises(OverloadedError):  # TGI's own error type, as without wattmeter
            failing.text_generation("hi")
        stream = client.text_generation("Once upon a time", max_new_tokens=8, stream=True)
        next(iter(stream))
        del stream
        gc.collect()
    assert [(fp.outcome, fp.output_tokens) for fp in fps] == [("error", 0), ("ok", 1)]


def test_simulator_registers_only_the_providers_asked_for() -> None:
    from wattmeter.testing.simulator import Simulator

    assert Simulator(providers=[]).routes == []
    only_hf = Simulator(providers=["huggingface"]).routes
    assert only_hf and all(p.pattern.startswith("/hf") for _, p, _ in only_hf)


def test_span_details_plain_and_streamed(span_details: Any, url: str,
                                         sim_server: tuple[str, int]) -> None:
    """server.address / server.port from the endpoint URL; completion id; finish reasons
    (the last streamed chunk's); the HF router's host for an hf-inference model id."""
    client = InferenceClient(model=url)
    out = client.chat_completion(MESSAGES, max_tokens=3)
    chunks = list(client.chat_completion(MESSAGES, max_tokens=3, stream=True))
    plain, streamed = span_details()
    assert plain == (*sim_server, out.id, ("length",))
    assert streamed == (*sim_server, chunks[0].id, ("length",))
    routed = InferenceClient(provider="hf-inference")
    assert hf_mod._server(routed, MODEL) == ("router.huggingface.co", 443)
    assert hf_mod._server(InferenceClient(provider="together"), MODEL) is None
