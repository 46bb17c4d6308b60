"""Meter Cohere's `cohere` SDK: chat and chat_stream, embed — v2 (`ClientV2`,
`AsyncClientV2`) and v1 (`Client`, `AsyncClient`).

Tokens come from ``usage.tokens`` (v2) or ``meta.tokens`` (v1): what the model processed,
prompt template included. When a response carries only ``billed_units`` those are used.
Streams take their usage from the ``message-end`` (v2) or ``stream-end`` (v1) event.
v1 ``embed`` is metered once around its client-side batching, so a long list of texts is
one call with the sum of the batches' tokens.
"""

from __future__ import annotations

from typing import Any

from .._usage import Usage
from ._core import Endpoint, Request, add_finish_reason, estimate_unreported
from ._patching import Patch, try_patch
from ._server import Server, server_for_url
from ._stream import AsyncStreamProxy, StreamProxy
from ._textsize import text_chars

__all__ = ["DISTRIBUTION", "SUPPORTED", "patch"]

DISTRIBUTION = "cohere"
#: Tested with 7.3; ``ClientV2`` and its v2 methods exist since 5.9.
SUPPORTED = ("5.20", "8")
PROVIDER = "cohere"
_V1_DEFAULT_MODEL = "command-r-plus"  # v1 chat's documented default model
_NO_USAGE = "the provider reported no usage; tokens estimated from text length"


def _int(value: Any) -> int:
    return int(value) if value else 0


def _apply(usage: Usage, holder: Any, operation: str) -> bool:
    """Copy tokens from a v2 ``Usage`` or a v1 ``ApiMeta``; False when it has none."""
    if holder is None:
        return False
    counts = holder.tokens if holder.tokens is not None else holder.billed_units
    if counts is None:
        return False
    usage.input_tokens = _int(counts.input_tokens)
    if operation != "embeddings":
        usage.output_tokens = _int(counts.output_tokens)
    usage.cached_input_tokens = _int(getattr(holder, "cached_tokens", None))
    return True


def _server(instance: Any) -> Server | None:
    """(host, port) of the client's base URL (a v2 client keeps it on its raw client)."""
    wrapper = getattr(instance, "_client_wrapper", None) or getattr(
        getattr(instance, "_raw_client", None), "_client_wrapper", None)
    get = getattr(wrapper, "get_base_url", None)
    return server_for_url(get()) if get is not None else None


def _details(usage: Usage, rid: Any, reason: Any) -> None:
    """gen_ai.response.id and the finish reason (e.g. ``COMPLETE``, as Cohere sends it)."""
    if isinstance(rid, str) and rid:
        usage.response_id = rid
    if reason is not None:
        add_finish_reason(usage, reason)


def _prompt_chars(kwargs: dict[str, Any]) -> int:
    return (text_chars(kwargs.get("messages")) + text_chars(kwargs.get("message"))
            + text_chars(kwargs.get("chat_history")) + text_chars(kwargs.get("texts")))


class CohereEndpoint(Endpoint):
    """One Cohere method: a complete response, or a stream of typed events."""

    may_nest = False  # the SDK sends with httpx, which wattmeter doesn't meter
    provider = PROVIDER

    def __init__(self, operation: str, stream: bool = False, v1: bool = False) -> None:
        self.operation = operation
        self.stream = stream
        self.v1 = v1

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        model = kwargs.get("model")
        if not isinstance(model, str) or not model:
            model = _V1_DEFAULT_MODEL if self.v1 and self.operation == "chat" else "unknown"
        # state for streams: [output characters, usage seen, events]
        return Request(PROVIDER, model, self.operation, kwargs,
                       state=[0, 0, 0] if self.stream else None, server=_server(instance))

    def usage(self, response: Any, req: Request) -> Usage:
        usage = Usage(PROVIDER, req.model, req.operation)
        if req.operation == "chat":
            _details(usage, getattr(response, "response_id", None) or getattr(
                response, "generation_id" if self.v1 else "id", None),
                getattr(response, "finish_reason", None))
        holder = getattr(response, "meta" if self.v1 or req.operation == "embeddings"
                         else "usage", None)
        if _apply(usage, holder, req.operation):
            return usage
        usage.input_tokens = (_prompt_chars(req.kwargs) + 3) // 4
        if req.operation != "embeddings":
            message = getattr(response, "message", None)
            text = getattr(response, "text", None) if message is None else message.content
            usage.output_tokens = (text_chars(text) + 3) // 4
        usage.tokens_estimated = True
        usage.warn(_NO_USAGE)
        return usage

    def is_stream(self, response: Any, req: Request) -> bool:
        return self.stream

    def wrap_stream(self, response: Any, call: Any, req: Request, is_async: bool) -> Any:
        # chat_stream is a (async) generator function: no request is sent until iterated.
        cls = AsyncStreamProxy if hasattr(response, "__aiter__") else StreamProxy
        return cls(response, call, self, req)

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        state = req.state
        state[2] += 1
        kind = getattr(chunk, "type", None) or getattr(chunk, "event_type", None)
        if kind == "content-delta":
            content = chunk.delta.message.content if chunk.delta and chunk.delta.message else None
            if content is not None:
                thinking = getattr(content, "thinking", None)  # not a field in 5.x
                state[0] += len(content.text or "") + len(thinking or "")
        elif kind == "text-generation":
            state[0] += len(chunk.text or "")
        elif kind == "message-end":
            delta = chunk.delta
            if delta is not None:
                _details(usage, None, getattr(delta, "finish_reason", None))
                if _apply(usage, delta.usage, req.operation):
                    state[1] = 1
        elif kind == "message-start":
            _details(usage, getattr(chunk, "id", None), None)
        elif kind == "stream-start":
            _details(usage, getattr(chunk, "generation_id", None), None)
        elif kind == "stream-end":
            response = chunk.response
            _details(usage, getattr(response, "response_id", None),
                     getattr(chunk, "finish_reason", None))
            if response is not None and _apply(usage, response.meta, req.operation):
                state[1] = 1
        return False

    def end_stream(self, usage: Usage, req: Request) -> Usage:
        return estimate_unreported(usage, req, _prompt_chars, "the stream ended before its "
                                   "usage event; tokens estimated from text length")


def patch() -> list[Patch]:
    """Wrap the chat, chat_stream and embed methods of Cohere's v2 and v1 clients."""
    patches: list[Patch] = []
    v2 = "cohere.v2.client"
    for cls, is_async in (("V2Client", False), ("AsyncV2Client", True)):
        try_patch(patches, v2, f"{cls}.chat", CohereEndpoint("chat"), is_async)
        # An (async) generator function either way: wrapped without awaiting.
        try_patch(patches, v2, f"{cls}.chat_stream", CohereEndpoint("chat", stream=True))
        try_patch(patches, v2, f"{cls}.embed", CohereEndpoint("embeddings"), is_async)
    for cls, is_async in (("BaseCohere", False), ("AsyncBaseCohere", True)):
        try_patch(patches, "cohere.base_client", f"{cls}.chat", CohereEndpoint("chat", v1=True),
                  is_async)
        try_patch(patches, "cohere.base_client", f"{cls}.chat_stream",
                  CohereEndpoint("chat", stream=True, v1=True))
    for cls, is_async in (("Client", False), ("AsyncClient", True)):
        try_patch(patches, "cohere.client", f"{cls}.embed", CohereEndpoint("embeddings", v1=True),
                  is_async)
    return patches
