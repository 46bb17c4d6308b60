"""Meter Google's `google-genai` SDK: Gemini content generation (plain and streamed),
embeddings, Imagen images and Veo videos, on the Gemini Developer API and Vertex AI.

Content generation is metered at the SDK's per-request methods (``Models._generate_content``
and ``_generate_content_stream``, sync and async), so every HTTP request is one metered
call: automatic function calling and automatic continuation, which send several requests
behind one ``generate_content``, are counted request by request with the usage each one
reported, and `Chat.send_message` is covered too. Embeddings, images and videos are
metered at the public methods; videos are recorded when ``operations.get`` reports their
operation done (see `_google_genai_media`).
"""

from __future__ import annotations

from typing import Any

from .._usage import Usage
from ._core import Endpoint, Request, add_finish_reason
from ._google_genai_media import (
    ImageEndpoint,
    VideoEndpoint,
    client_server,
    config_value,
    model_name,
    patch_operations,
)
from ._patching import Patch, try_patch
from ._stream import AsyncStreamProxy, StreamProxy
from ._textsize import text_chars

__all__ = ["DISTRIBUTION", "SUPPORTED", "model_name", "patch"]

DISTRIBUTION = "google-genai"
#: Tested with 3.4; the per-request methods exist since 1.0.
SUPPORTED = ("1.12.1", "4")
PROVIDER = "google"

_MODELS = "google.genai.models"
_NO_USAGE = "the provider reported no usage; tokens estimated from text length"


def _prompt_chars(kwargs: dict[str, Any]) -> int:
    config = kwargs.get("config")
    return text_chars(kwargs.get("contents")) + text_chars(
        config_value(config, "system_instruction"))


def _apply_metadata(usage: Usage, meta: Any, seen: list[int]) -> None:
    """Copy Gemini usage metadata onto `usage` (thoughts are part of the output)."""
    prompt = meta.prompt_token_count
    if prompt is not None:
        # tool-use and thought counts are fields of later releases than 1.0
        usage.input_tokens = prompt + (getattr(meta, "tool_use_prompt_token_count", 0) or 0)
        usage.cached_input_tokens = meta.cached_content_token_count or 0
        seen[1] = 1
    candidates = meta.candidates_token_count
    thoughts = getattr(meta, "thoughts_token_count", None)
    if candidates is not None or thoughts is not None:
        usage.output_tokens = (candidates or 0) + (thoughts or 0)
        usage.reasoning_tokens = thoughts or 0
        seen[2] = 1


def _semconv_provider(instance: Any) -> str:
    """gen_ai.provider.name of a ``Models`` instance's client: the GenAI semantic conventions
    name Vertex AI ``gcp.vertex_ai`` and the Gemini API ``gcp.gemini``."""
    client = getattr(instance, "_api_client", None)
    return "gcp.vertex_ai" if getattr(client, "vertexai", False) is True else "gcp.gemini"


def _details(usage: Usage, response: Any, candidates: Any) -> None:
    """gen_ai.response.id and the candidates' finish reasons (enum names in lowercase, as
    ``stop`` or ``max_tokens``) off a response or a stream chunk."""
    if usage.response_id is None:
        rid = response.response_id
        if isinstance(rid, str):
            usage.response_id = rid
    for candidate in candidates or ():
        reason = candidate.finish_reason
        if reason is not None:
            add_finish_reason(usage, reason)


def _output_chars(response: Any) -> int:
    candidates = response.candidates
    if not candidates:
        return 0
    content = candidates[0].content
    parts = content.parts if content is not None else None
    if not parts:
        return 0
    n = 0
    for part in parts:
        text = part.text
        if text:
            n += len(text)
    return n


class ContentEndpoint(Endpoint):
    """``generate_content`` requests, plain or streamed; usage from ``usage_metadata``."""

    may_nest = False  # the SDK sends with httpx, which wattmeter doesn't meter
    provider = PROVIDER
    operation = "chat"

    def __init__(self, stream: bool) -> None:
        self.stream = stream

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        # state: [output characters, prompt usage seen, output usage seen, chunks,
        #         gen_ai.provider.name of the client: Vertex AI or the Gemini API]
        return Request(PROVIDER, model_name(kwargs.get("model")), "chat", kwargs,
                       state=[0, 0, 0, 0, _semconv_provider(instance)],
                       server=client_server(instance))

    def usage(self, response: Any, req: Request) -> Usage:
        usage = Usage(PROVIDER, req.model, "chat", response_model=response.model_version,
                      provider_name=req.state[4])
        meta = response.usage_metadata
        seen = req.state
        _details(usage, response, response.candidates)
        if meta is not None:
            _apply_metadata(usage, meta, seen)
        if not seen[1] and not seen[2]:
            usage.input_tokens = (_prompt_chars(req.kwargs) + 3) // 4
            usage.output_tokens = (_output_chars(response) + 3) // 4
            usage.tokens_estimated = True
            usage.warn(_NO_USAGE)
        return usage

    def is_stream(self, response: Any, req: Request) -> bool:
        return self.stream

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        seen = req.state
        seen[3] += 1
        usage.provider_name = seen[4]
        meta = chunk.usage_metadata
        if meta is not None:
            _apply_metadata(usage, meta, seen)
        seen[0] += _output_chars(chunk)
        if usage.response_model is None:
            usage.response_model = chunk.model_version
            _details(usage, chunk, None)
        candidates = chunk.candidates
        if candidates and candidates[0].finish_reason is not None:  # the last chunk: rare
            _details(usage, chunk, candidates)
        return False

    def end_stream(self, usage: Usage, req: Request) -> Usage:
        chars, prompt_seen, output_seen, chunks, usage.provider_name = req.state
        if not chunks:  # nothing came back (an error before the first chunk)
            return usage
        if not prompt_seen:
            usage.input_tokens = (_prompt_chars(req.kwargs) + 3) // 4
        if not output_seen:
            usage.output_tokens = (chars + 3) // 4
        if not (prompt_seen and output_seen):
            usage.tokens_estimated = True
            usage.warn("the stream ended before its usage metadata; tokens estimated "
                       "from text length")
        return usage

    def wrap_stream(self, response: Any, call: Any, req: Request, is_async: bool) -> Any:
        # The sync method is a generator function: no request is sent until iterated.
        cls = AsyncStreamProxy if hasattr(response, "__aiter__") else StreamProxy
        return cls(response, call, self, req)


class EmbedEndpoint(Endpoint):
    """``embed_content``: tokens from usage metadata or per-embedding statistics."""

    may_nest = False  # the SDK sends with httpx, which wattmeter doesn't meter
    provider = PROVIDER
    operation = "embeddings"

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        return Request(PROVIDER, model_name(kwargs.get("model")), "embeddings", kwargs,
                       server=client_server(instance))

    def usage(self, response: Any, req: Request) -> Usage:
        usage = Usage(PROVIDER, req.model, "embeddings")
        meta = getattr(response, "usage_metadata", None)  # a field of later releases than 1.0
        if meta is not None and meta.prompt_token_count is not None:
            usage.input_tokens = meta.prompt_token_count
            usage.cached_input_tokens = meta.cached_content_token_count or 0
            return usage
        counts = [e.statistics.token_count for e in response.embeddings or ()
                  if e.statistics is not None and e.statistics.token_count is not None]
        if counts:
            usage.input_tokens = int(sum(counts))
            return usage
        usage.input_tokens = (text_chars(req.kwargs.get("contents")) + 3) // 4
        usage.tokens_estimated = True
        usage.warn(_NO_USAGE)
        return usage


def patch() -> list[Patch]:
    """Wrap the google-genai methods that send generative requests."""
    patches: list[Patch] = []
    for cls, is_async in (("Models", False), ("AsyncModels", True)):
        try_patch(patches, _MODELS, f"{cls}._generate_content", ContentEndpoint(False), is_async)
        try_patch(patches, _MODELS, f"{cls}._generate_content_stream", ContentEndpoint(True),
                  is_async)
        try_patch(patches, _MODELS, f"{cls}.embed_content", EmbedEndpoint(), is_async)
        try_patch(patches, _MODELS, f"{cls}.generate_images", ImageEndpoint(), is_async)
        try_patch(patches, _MODELS, f"{cls}.generate_videos", VideoEndpoint(), is_async)
    patches.extend(patch_operations())
    return patches
