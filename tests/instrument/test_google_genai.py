"""google-genai through its real client against the local simulator: every call metered once."""

from __future__ import annotations

import asyncio
import gc
import importlib
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("google.genai")

from google import genai
from google.genai import chats, errors, models, types

try:  # videos (generate_videos, operations.get) came after 1.0, the declared floor
    from google.genai import operations
except ImportError:
    operations = None  # type: ignore[assignment]

import wattmeter
from wattmeter._usage import Usage
from wattmeter.instrument import google_genai as gg
from wattmeter.instrument import instrument, uninstrument
from wattmeter.testing import _Captured, capture

SECRET = "the quick brown fox whispers a secret prompt"

#: The video tests need an SDK that has the endpoint; the chat and stream paths run on all.
needs_videos = pytest.mark.skipif(
    operations is None or not hasattr(types, "GenerateVideosSource"),
    reason=f"google-genai {genai.__version__} has no generate_videos(source=...) (a later release)")


@pytest.fixture
def client(simulator: Any) -> genai.Client:
    instrument("google_genai")
    return genai.Client(api_key="sim-key", http_options=types.HttpOptions(base_url=simulator.url))


@pytest.fixture
def vertex(simulator: Any) -> genai.Client:
    instrument("google_genai")
    return genai.Client(vertexai=True, api_key="sim-key",
                        http_options=types.HttpOptions(base_url=simulator.url))


@pytest.fixture
def usages(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Usage]]:
    """The `Usage` of every recorded call (media fields are not on the Footprint)."""
    seen: list[Usage] = _Captured()  # made in the background: reading it flushes the queue
    estimate_module = importlib.import_module("wattmeter._meter")  # where the core calls it
    real = estimate_module.footprint_for

    def spy(usage: Usage, **kw: Any) -> Any:
        seen.append(usage)
        return real(usage, **kw)

    monkeypatch.setattr(estimate_module, "footprint_for", spy)
    yield seen


def _prompt_tokens(text: str) -> int:
    return (len(text) + 3) // 4


def test_generate_content_tokens_equal_reported_usage(client: genai.Client) -> None:
    with capture() as fps:
        r = client.models.generate_content(
            model="models/gemini-2.5-flash", contents=SECRET,
            config=types.GenerateContentConfig(
                max_output_tokens=12, thinking_config=types.ThinkingConfig(thinking_budget=5)))
    assert isinstance(r, types.GenerateContentResponse)
    assert r.text == "tok " * 12
    (fp,) = fps
    meta = r.usage_metadata
    assert (fp.provider, fp.model, fp.operation) == ("google", "gemini-2.5-flash", "chat")
    assert fp.input_tokens == meta.prompt_token_count == _prompt_tokens(SECRET)
    assert fp.output_tokens == meta.candidates_token_count + meta.thoughts_token_count == 17
    assert fp.reasoning_tokens == 5
    assert fp.outcome == "ok" and not fp.warnings
    assert fp.response_model == "gemini-2.5-flash"
    assert SECRET not in repr(fp)


def test_cached_content_counts_as_cached_input(client: genai.Client) -> None:
    with capture() as fps:
        client.models.generate_content(model="gemini-2.5-flash", contents=SECRET,
                                       config={"cached_content": "cachedContents/abc"})
    (fp,) = fps
    assert fp.cached_input_tokens == _prompt_tokens(SECRET) // 2
    assert fp.input_tokens == _prompt_tokens(SECRET)


def test_stream_counted_once_with_final_usage(client: genai.Client) -> None:
    with capture() as fps:
        chunks = list(client.models.generate_content_stream(
            model="gemini-2.5-flash", contents=SECRET, config={"max_output_tokens": 10}))
    assert all(isinstance(c, types.GenerateContentResponse) for c in chunks)
    assert "".join(c.text or "" for c in chunks) == "tok " * 10
    (fp,) = fps
    assert fp.input_tokens == _prompt_tokens(SECRET)
    assert fp.output_tokens == 10 and not fp.warnings


def test_stream_early_break_records_partial(client: genai.Client) -> None:
    with capture() as fps:
        stream = client.models.generate_content_stream(
            model="gemini-2.5-flash", contents=SECRET, config={"max_output_tokens": 16})
        for _chunk in stream:
            break
        stream.close()
        gc.collect()
    (fp,) = fps
    assert fp.input_tokens == _prompt_tokens(SECRET)  # sent on every chunk
    assert fp.output_tokens == 4  # one chunk of four tokens read, estimated from its text
    assert any("estimated" in w for w in fp.warnings)


def test_async_generate_and_stream(client: genai.Client) -> None:
    async def main() -> list[str]:
        r = await client.aio.models.generate_content(model="gemini-2.5-flash", contents=SECRET)
        assert isinstance(r, types.GenerateContentResponse)
        texts = []
        async for chunk in await client.aio.models.generate_content_stream(
                model="gemini-2.5-flash", contents=SECRET, config={"max_output_tokens": 8}):
            texts.append(chunk.text)
        return texts

    with capture() as fps:
        texts = asyncio.run(main())
    assert "".join(texts) == "tok " * 8
    assert [fp.output_tokens for fp in fps] == [16, 8]
    assert all(fp.input_tokens == _prompt_tokens(SECRET) for fp in fps)


def test_async_stream_early_break(client: genai.Client) -> None:
    async def main() -> None:
        stream = await client.aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents=SECRET, config={"max_output_tokens": 16})
        async for _chunk in stream:
            break
        await stream.aclose()

    with capture() as fps:
        asyncio.run(main())
        gc.collect()
    (fp,) = fps
    assert fp.output_tokens == 4 and fp.input_tokens == _prompt_tokens(SECRET)


@pytest.mark.parametrize("status, exc_type", [(429, errors.ClientError),
                                              (500, errors.ServerError)])
def test_provider_error_recorded_and_raised(client: genai.Client, status: int,
                                            exc_type: type) -> None:
    with capture() as fps:
        with pytest.raises(exc_type) as info:
            client.models.generate_content(model=f"error-{status}", contents=SECRET)
        assert info.value.code == status
        with pytest.raises(exc_type):
            list(client.models.generate_content_stream(model=f"error-{status}", contents="x"))

        async def main() -> None:
            with pytest.raises(exc_type):
                await client.aio.models.generate_content(model=f"error-{status}", contents="x")
            with pytest.raises(exc_type):
                async for _ in await client.aio.models.generate_content_stream(
                        model=f"error-{status}", contents="x"):
                    pass

        asyncio.run(main())
    assert [fp.outcome for fp in fps] == ["error"] * 4
    assert all(fp.input_tokens == fp.output_tokens == 0 for fp in fps)


def test_chat_session_is_metered(client: genai.Client) -> None:
    with capture() as fps:
        chat = client.chats.create(model="gemini-2.5-flash")
        assert isinstance(chat, chats.Chat)
        chat.send_message("hello")
        chat.send_message("again")
    assert len(fps) == 2 and all(fp.operation == "chat" for fp in fps)


def test_automatic_function_calling_meters_each_request(client: genai.Client) -> None:
    calls = []

    def get_weather() -> str:
        """The weather here."""
        calls.append(1)
        return "sunny"

    with capture() as fps:
        r = client.models.generate_content(
            model="gemini-2.5-flash", contents="weather here?",
            config=types.GenerateContentConfig(tools=[get_weather], max_output_tokens=6))
    assert calls and r.text == "tok " * 6
    assert [fp.output_tokens for fp in fps] == [1, 6]  # the function call, then the answer


def test_embed_content_usage_and_estimate(client: genai.Client, vertex: genai.Client) -> None:
    texts = ["abcdefgh", "ijkl"]
    with capture() as fps:
        r = client.models.embed_content(model="text-embedding-004", contents=texts)
        client.models.embed_content(model="embedding-no-usage", contents=texts)
        v = vertex.models.embed_content(model="text-embedding-005", contents=texts)
    assert isinstance(r, types.EmbedContentResponse) and len(v.embeddings or []) == 2
    reported, estimated, stats = fps
    assert reported.operation == "embeddings" and reported.input_tokens == 3
    if "usage_metadata" in types.EmbedContentResponse.model_fields:  # not in 1.0: estimated
        assert not reported.warnings
    assert estimated.input_tokens == 3 and any("estimated" in w for w in estimated.warnings)
    assert stats.input_tokens == 3 and not [w for w in stats.warnings if "unknown model" not in w]


def test_generate_images(vertex: genai.Client, usages: list[Usage]) -> None:
    with capture() as fps:
        r = vertex.models.generate_images(
            model="imagen-4.0-generate-001", prompt=SECRET,
            config=types.GenerateImagesConfig(number_of_images=2, aspect_ratio="16:9"))
        vertex.models.generate_images(model="imagen-4.0-generate-001", prompt=SECRET)
    assert isinstance(r, types.GenerateImagesResponse) and len(r.generated_images or []) == 2
    assert [fp.operation for fp in fps] == ["image", "image"]
    first, default = usages
    assert (first.images, first.width, first.height) == (2, 1408, 768)
    assert (default.images, default.width, default.height) == (4, 1024, 1024)


@needs_videos
def test_generate_videos_metered_on_completion(vertex: genai.Client,
                                               usages: list[Usage]) -> None:
    with capture() as fps:
        op = vertex.models.generate_videos(
            model="veo-3.0-generate-001", source=types.GenerateVideosSource(prompt=SECRET),
            config=types.GenerateVideosConfig(number_of_videos=2, duration_seconds=6,
                                              resolution="1080p"))
        assert isinstance(op, types.GenerateVideosOperation) and not op.done
        assert fps == []  # nothing yet: the video is not made
        polls = 0
        while not op.done:
            op = vertex.operations.get(op)
            polls += 1
    assert polls == 2
    (fp,) = fps
    assert (fp.operation, fp.model, fp.outcome) == ("video", "veo-3.0-generate-001", "ok")
    (u,) = usages
    assert (u.images, u.video_seconds, u.fps, u.frames) == (2, 6, 24, 144)
    assert (u.width, u.height) == (1920, 1080)
    assert op.result is not None and len(op.result.generated_videos or []) == 2


@needs_videos
def test_generate_videos_async_defaults(vertex: genai.Client, usages: list[Usage]) -> None:
    async def main() -> None:
        op = await vertex.aio.models.generate_videos(
            model="veo-2.0-generate-001", source={"prompt": SECRET},
            config={"aspect_ratio": "9:16"})
        while not op.done:
            op = await vertex.aio.operations.get(op)

    with capture() as fps:
        asyncio.run(main())
    (fp,) = fps
    (u,) = usages
    assert (u.images, u.video_seconds, u.fps, u.frames) == (1, 8, 24, 192)
    assert (u.width, u.height) == (720, 1280)
    assert fp.operation == "video"


@needs_videos
def test_generate_videos_error(vertex: genai.Client) -> None:
    with capture() as fps, pytest.raises(errors.ClientError):
        vertex.models.generate_videos(model="error-429", source={"prompt": "x"})
    (fp,) = fps
    assert fp.outcome == "error"


def test_uninstrument_restores_and_instrument_idempotent(simulator: Any) -> None:
    get = operations.Operations.__dict__["get"] if operations is not None else None
    originals = (models.Models.__dict__["_generate_content"],
                 models.AsyncModels.__dict__["embed_content"], get)
    first = instrument("google_genai")
    second = instrument("google-genai")
    assert first.libraries == second.libraries == ["google_genai"]
    assert models.Models.__dict__["_generate_content"] is not originals[0]
    uninstrument()
    assert (models.Models.__dict__["_generate_content"],
            models.AsyncModels.__dict__["embed_content"],
            operations.Operations.__dict__["get"] if operations is not None else None
            ) == originals
    c = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=simulator.url))
    with capture() as fps:
        c.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert fps == []


def test_meter_around_instrumented_call_counts_once(client: genai.Client) -> None:
    @wattmeter.meter(model="my-wrapper", provider="self-hosted")
    def outer() -> Any:
        return client.models.generate_content(model="gemini-2.5-flash", contents=SECRET)

    with capture() as fps:
        outer()
    assert len(fps) == 1


def test_model_names_normalised() -> None:
    assert gg.model_name("models/gemini-2.5-flash") == "gemini-2.5-flash"
    assert gg.model_name("projects/p/locations/l/publishers/google/models/gemini-2.0") == \
        "gemini-2.0"
    assert gg.model_name("google/gemini-2.5-pro") == "gemini-2.5-pro"
    assert gg.model_name("tunedModels/123") == "tunedModels/123"


@needs_videos
def test_unobserved_video_operations_are_bounded(vertex: genai.Client,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from wattmeter.instrument import _google_genai_media as media

    monkeypatch.setattr(media, "MAX_PENDING", 1)
    before = media.pending_videos()
    with capture() as fps:
        vertex.models.generate_videos(model="veo-3.0-generate-001", source={"prompt": "a"})
        vertex.models.generate_videos(model="veo-3.0-generate-001", source={"prompt": "b"})
    (evicted,) = fps  # the oldest, recorded from its request when the table overflowed
    assert evicted.operation == "video"
    assert any("not observed" in w for w in evicted.warnings)
    assert media.pending_videos() <= max(before, 1)


def test_attribution_reaches_google_calls(client: genai.Client) -> None:
    with capture() as fps, wattmeter.attribute(team="search", feature="answers"):
        client.models.generate_content(model="gemini-2.5-flash", contents="x")
        for _chunk in client.models.generate_content_stream(model="gemini-2.5-flash",
                                                            contents="x"):
            pass
    assert [(fp.team, dict(fp.labels)) for fp in fps] == [
        ("search", {"feature": "answers"})] * 2


def test_semconv_provider_tells_vertex_from_the_gemini_api(client: genai.Client,
                                                            vertex: genai.Client,
                                                            usages: list[Usage]) -> None:
    """gen_ai.provider.name: ``gcp.gemini`` for the Gemini API, ``gcp.vertex_ai`` for Vertex."""
    for c in (client, vertex):
        c.models.generate_content(model="gemini-2.5-flash", contents=SECRET)
        for _ in c.models.generate_content_stream(model="gemini-2.5-flash", contents=SECRET):
            pass
    assert [u.provider_name for u in usages] == ["gcp.gemini"] * 2 + ["gcp.vertex_ai"] * 2
    assert {u.provider for u in usages} == {"google"}  # the estimate's provider is unchanged


def test_span_details_plain_and_streamed(span_details: Any, client: genai.Client,
                                         sim_server: tuple[str, int]) -> None:
    """server.address / server.port from the client's base URL; response id; the
    candidates' finish reasons as lowercase enum names, sync and async."""
    r = client.models.generate_content(model="gemini-2.5-flash", contents=SECRET,
                                       config={"max_output_tokens": 3})
    chunks = list(client.models.generate_content_stream(
        model="gemini-2.5-flash", contents=SECRET, config={"max_output_tokens": 6}))

    async def both() -> None:
        await client.aio.models.generate_content(model="gemini-2.5-flash", contents=SECRET)
        async for _ in await client.aio.models.generate_content_stream(
                model="gemini-2.5-flash", contents=SECRET):
            pass

    asyncio.run(both())
    details = span_details()
    assert details[0] == (*sim_server, r.response_id, ("stop",))
    assert details[1] == (*sim_server, chunks[0].response_id, ("stop",))
    # (releases before response_id, like the 1.12.1 floor, have none to put on the span)
    assert len(details) == 4 and all(d[:2] == sim_server and d[3] == ("stop",)
                                     for d in details)
