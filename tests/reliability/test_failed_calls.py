"""Issue 23, item 2: a failed call is charged what it produced, per modality and entry point.

A refused (429) ``images.generate`` through the openai SDK was recorded at 5.27 Wh against
1.33 Wh for a successful one, and the proxy logger charged a failed image 1.0 Wh, a failed
FLUX call 4.3 Wh and a failed Wan2.1 video 800 Wh: a refusal generated nothing. A failure
mid-generation (a cut stream, a generator that raises) is charged the prefill plus what
was produced (docs/failure-rules.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import wattmeter
from wattmeter import Usage
from wattmeter._meter import record
from wattmeter.estimate import footprint_for
from wattmeter.testing import capture

MESSAGES = [{"role": "user", "content": "Name three rivers."}]
FLUX = "black-forest-labs/FLUX.1-dev"
WAN = "Wan-AI/Wan2.1-T2V-14B-Diffusers"


def _nothing(fp: Any) -> None:
    assert fp.outcome == "error"
    assert (fp.energy_wh, fp.energy_wh_low, fp.energy_wh_high, fp.accelerator_wh,
            fp.server_wh, fp.co2e_g, fp.co2e_g_high) == (0.0,) * 7


@pytest.fixture
def openai_client(simulator: Any) -> Any:
    openai = pytest.importorskip("openai")
    wattmeter.instrument("openai")
    return openai.OpenAI(base_url=simulator.url + "/v1", api_key="sk-test", max_retries=0)


def test_refusals_through_the_openai_sdk_charge_nothing(openai_client: Any) -> None:
    import openai

    c = openai_client
    calls = [
        lambda: c.chat.completions.create(model="error-429", messages=MESSAGES),
        lambda: c.images.generate(model="error-429", prompt="a cat"),
        lambda: c.images.generate(model="error-400", prompt="a cat", size="1024x1792"),
        lambda: c.embeddings.create(model="error-429", input="x"),
        lambda: c.audio.speech.create(model="error-429", voice="alloy", input="hi"),
        lambda: c.audio.transcriptions.create(model="error-429", file=("a.mp3", b"x" * 800)),
    ]
    with capture() as fps:
        for call in calls:
            with pytest.raises(openai.APIStatusError):
                call()
    assert [fp.operation for fp in fps] == ["chat", "image", "image", "embeddings", "speech",
                                            "transcription"]
    for fp in fps:
        _nothing(fp)


def test_a_success_is_still_charged(openai_client: Any) -> None:
    with capture() as fps:
        openai_client.images.generate(model="dall-e-3", prompt="a cat")
        openai_client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=5)
    assert all(fp.outcome == "ok" and fp.energy_wh > 0 for fp in fps) and len(fps) == 2


def test_cut_stream_is_charged_prefill_and_the_tokens_produced(openai_client: Any) -> None:
    import openai

    with capture() as fps:
        with pytest.raises((openai.APIError, Exception)):
            for _ in openai_client.chat.completions.create(
                    model="fault-cut", messages=MESSAGES, max_tokens=64, stream=True):
                pass
    (fp,) = fps
    assert fp.outcome == "error" and 0 < fp.output_tokens < 64
    full = wattmeter.estimate(fp.model, fp.provider, "chat", input_tokens=fp.input_tokens,
                              output_tokens=fp.output_tokens)
    assert fp.energy_wh == pytest.approx(full.energy_wh)


def _proxy_failure(model: str, call_type: str, provider: str = "openai") -> None:
    pytest.importorskip("litellm")
    from wattmeter.integrations.litellm_proxy import WattmeterLogger

    kwargs = {"litellm_call_id": f"c-{model}-{call_type}", "standard_logging_object": {
        "call_type": call_type, "model": model, "custom_llm_provider": provider}}
    WattmeterLogger().log_failure_event(kwargs, None, object(), None)


@pytest.mark.parametrize("model, call_type", [
    ("dall-e-3", "image_generation"), (FLUX, "aimage_generation"), (WAN, "image_generation"),
    ("gpt-4o", "acompletion"), ("text-embedding-3-small", "embedding"),
    ("tts-1", "speech"), ("whisper-1", "transcription")])
def test_proxy_logger_failures_charge_nothing(model: str, call_type: str) -> None:
    with capture() as fps:
        _proxy_failure(model, call_type)
    (fp,) = fps
    _nothing(fp)


@pytest.fixture
def bedrock(simulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Any]:
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_EC2_METADATA_DISABLED": "true",
                       "AWS_CONFIG_FILE": str(tmp_path / "none"),
                       "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(key, value)
    wattmeter.instrument("bedrock")
    yield boto3.client("bedrock-runtime", endpoint_url=simulator.url, region_name="us-east-1",
                       config=Config(retries={"max_attempts": 1}))
    wattmeter.uninstrument()


def test_bedrock_refusal_charges_nothing(bedrock: Any) -> None:
    from botocore.exceptions import ClientError

    with capture() as fps, pytest.raises(ClientError):
        bedrock.converse(modelId="error-429",
                         messages=[{"role": "user", "content": [{"text": "hi"}]}])
    (fp,) = fps
    _nothing(fp)


@pytest.mark.parametrize("model, operation", [
    ("meta-llama/Llama-3.1-8B-Instruct", "chat"), (FLUX, "image"), (WAN, "video"),
    ("hexgrad/Kokoro-82M", "speech"), ("BAAI/bge-large-en-v1.5", "embeddings")])
def test_decorated_call_that_raises_charges_nothing(model: str, operation: str) -> None:
    @wattmeter.meter(model=model, operation=operation)
    def generate() -> None:
        raise TimeoutError("refused")

    with capture() as fps, pytest.raises(TimeoutError):
        generate()
    (fp,) = fps
    _nothing(fp)


def test_decorated_generator_cut_midway_is_charged_what_it_yielded() -> None:
    model = "meta-llama/Llama-3.1-8B-Instruct"

    @wattmeter.meter(model=model)
    def generate() -> Iterator[str]:
        yield "a"
        yield "b"
        yield "c"
        raise ConnectionError("cut")

    with capture() as fps, pytest.raises(ConnectionError):
        list(generate())
    (fp,) = fps
    ok = wattmeter.estimate(model, "self-hosted", "chat", output_tokens=3)
    assert fp.outcome == "error" and fp.output_tokens == 3
    assert fp.energy_wh == pytest.approx(ok.energy_wh) and fp.energy_wh > 0


@pytest.mark.parametrize("usage", [
    Usage("self-hosted", FLUX, "image", steps=12, outcome="error"),
    Usage("self-hosted", WAN, "video", frames=33, steps=20, outcome="error"),
    Usage("openai", "gpt-image-1", "image", output_tokens=600, outcome="error"),
    Usage("self-hosted", "hexgrad/Kokoro-82M", "speech", audio_seconds=3.0, characters=40,
          outcome="error"),
    Usage("openai", "whisper-1", "transcription", audio_seconds=30.0, output_tokens=20,
          outcome="error"),
])
def test_media_failure_midway_is_charged_what_the_usage_says_was_produced(
        usage: Usage) -> None:
    failed = footprint_for(usage, team="t", labels={})
    usage.outcome = "ok"
    ok = footprint_for(usage, team="t", labels={})
    assert failed.outcome == "error" and failed.energy_wh == ok.energy_wh > 0


@pytest.mark.parametrize("usage", [
    Usage("self-hosted", FLUX, "image", width=1024, height=1024, outcome="error"),
    Usage("openai", "gpt-4o", "chat", input_tokens=900, outcome="error"),
    Usage("openai", "text-embedding-3-small", "embeddings", input_tokens=900,
          outcome="error"),
    Usage("openai", "tts-1", "speech", characters=400, outcome="error"),
])
def test_failure_that_shows_no_output_charges_nothing(usage: Usage) -> None:
    with capture() as fps:
        record(usage)
    _nothing(fps[0])
