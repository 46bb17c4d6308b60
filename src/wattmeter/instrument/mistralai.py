"""Meter Mistral AI's `mistralai` SDK (v1 and later): chat and FIM completions, plain and
streamed, sync and async, and embeddings.

Usage comes from the response's ``usage`` block (on the last chunk of a stream); cached
prompt tokens from ``prompt_tokens_details.cached_tokens`` when Mistral reports them. The
SDK's modules moved between majors (``mistralai.chat`` in 1.x, ``mistralai.client.chat``
from 2.x), so both layouts are tried. ``chat.parse`` goes through ``chat.complete`` and
is counted there, once.
"""

from __future__ import annotations

from typing import Any

from .._usage import Usage
from ._core import Endpoint, Request, add_finish_reason, estimate_unreported
from ._patching import Patch, first_importable, try_patch
from ._server import Server, server_for_url
from ._textsize import text_chars

__all__ = ["DISTRIBUTION", "SUPPORTED", "patch"]

DISTRIBUTION = "mistralai"
#: Tested with 3.7; 1.x has the same method names under ``mistralai.<module>``.
SUPPORTED = ("3.7", "4")
PROVIDER = "mistral"


def _cached(usage_info: Any) -> int:
    extra = getattr(usage_info, "__pydantic_extra__", None) or {}
    details = extra.get("prompt_tokens_details")
    if isinstance(details, dict):
        return int(details.get("cached_tokens") or 0)
    return int(extra.get("num_cached_tokens") or 0)


def _apply(usage: Usage, info: Any, operation: str) -> None:
    usage.input_tokens = info.prompt_tokens or 0
    usage.cached_input_tokens = _cached(info)
    if operation != "embeddings":
        usage.output_tokens = info.completion_tokens or 0


def _server(instance: Any) -> Server | None:
    """(host, port) the SDK sends to: ``server_url`` if given, else its named server's URL."""
    config = getattr(instance, "sdk_configuration", None)
    url = getattr(config, "server_url", None)
    if not url and config is not None:
        try:
            url = config.get_server_details()[0]
        except Exception:  # an unknown server name: the SDK raises it on the call itself
            return None
    return server_for_url(url)


def _details(usage: Usage, response: Any) -> None:
    """gen_ai.response.id and the choices' finish reasons of a response or a chunk."""
    rid = getattr(response, "id", None)
    if isinstance(rid, str) and usage.response_id is None:
        usage.response_id = rid
    for choice in getattr(response, "choices", None) or ():
        reason = getattr(choice, "finish_reason", None)
        if reason is not None:
            add_finish_reason(usage, reason)


def _prompt_chars(kwargs: dict[str, Any]) -> int:
    return text_chars(kwargs.get("messages")) + text_chars(kwargs.get("prompt")) + text_chars(
        kwargs.get("suffix")) + text_chars(kwargs.get("inputs"))


class MistralEndpoint(Endpoint):
    """A Mistral method returning a response with ``usage``, or an event stream of chunks."""

    may_nest = False  # the SDK sends with httpx, which wattmeter doesn't meter
    provider = PROVIDER

    def __init__(self, operation: str, stream: bool = False) -> None:
        self.operation = operation
        self.stream = stream

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        # state for streams: [output characters, usage seen, chunks]
        return Request(PROVIDER, str(kwargs.get("model") or "unknown"), self.operation, kwargs,
                       state=[0, 0, 0] if self.stream else None, server=_server(instance))

    def usage(self, response: Any, req: Request) -> Usage:
        usage = Usage(PROVIDER, req.model, req.operation,
                      response_model=getattr(response, "model", None))
        if req.operation != "embeddings":
            _details(usage, response)
        info = getattr(response, "usage", None)
        if info is not None:
            _apply(usage, info, req.operation)
            return usage
        usage.input_tokens = (_prompt_chars(req.kwargs) + 3) // 4
        if req.operation != "embeddings":
            usage.output_tokens = sum(
                (text_chars(c.message.content) + 3) // 4
                for c in getattr(response, "choices", None) or () if c.message is not None)
        usage.tokens_estimated = True
        usage.warn("the provider reported no usage; tokens estimated from text length")
        return usage

    def is_stream(self, response: Any, req: Request) -> bool:
        return self.stream

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        state = req.state
        state[2] += 1
        data = getattr(chunk, "data", None)
        if data is None:
            return False
        info = data.usage
        if info is not None:
            _apply(usage, info, req.operation)
            state[1] = 1
        for choice in data.choices or ():
            content = choice.delta.content
            if content:
                state[0] += len(content) if isinstance(content, str) else text_chars(content)
            if choice.finish_reason is not None:  # a choice's last chunk: rare
                add_finish_reason(usage, choice.finish_reason)
        if usage.response_model is None:
            usage.response_model = data.model
            if isinstance(data.id, str):
                usage.response_id = data.id
        return False

    def end_stream(self, usage: Usage, req: Request) -> Usage:
        return estimate_unreported(usage, req, _prompt_chars, "the stream ended before its "
                                   "usage block; tokens estimated from text length")


def patch() -> list[Patch]:
    """Wrap chat, FIM and embeddings methods of the installed mistralai SDK."""
    patches: list[Patch] = []
    chat = first_importable("mistralai.client.chat", "mistralai.chat")
    fim = first_importable("mistralai.client.fim", "mistralai.fim")
    embeddings = first_importable("mistralai.client.embeddings", "mistralai.embeddings")
    for module, cls, operation in ((chat, "Chat", "chat"), (fim, "Fim", "completion")):
        try_patch(patches, module, f"{cls}.complete", MistralEndpoint(operation))
        try_patch(patches, module, f"{cls}.complete_async", MistralEndpoint(operation), True)
        try_patch(patches, module, f"{cls}.stream", MistralEndpoint(operation, True))
        try_patch(patches, module, f"{cls}.stream_async", MistralEndpoint(operation, True), True)
    try_patch(patches, embeddings, "Embeddings.create", MistralEndpoint("embeddings"))
    try_patch(patches, embeddings, "Embeddings.create_async", MistralEndpoint("embeddings"),
              True)
    return patches
