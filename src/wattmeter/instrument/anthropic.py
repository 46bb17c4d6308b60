"""Meter the anthropic library: messages.create (streamed or not), messages.stream, parse.

Anthropic reports ``input_tokens`` without the prompt-cache reads and writes; wattmeter's
convention counts every prompt token as input, so input = input_tokens +
cache_read_input_tokens + cache_creation_input_tokens and cached input = cache reads.
Streams report input in ``message_start`` and the running output count in
``message_delta``. ``count_tokens`` is not a generation and is not metered. The
``messages.stream()`` helper posts the request itself (not through ``create``), so its
manager is proxied and the request metered when the ``with`` block is entered.
"""

from __future__ import annotations

from typing import Any

from .._usage import Usage
from ._core import Request, wrapper_for
from ._openai_endpoints import NO_USAGE, PARTIAL, chars_to_tokens, text_length
from ._openai_hosts import client_target
from ._openai_proxies import ManagerProxy, StainlessEndpoint
from ._patching import Patch, first_importable, try_patch

__all__ = ["DISTRIBUTION", "SUPPORTED", "Messages", "patch"]

DISTRIBUTION = "anthropic"
#: Tested with 0.40+ style resources and 2.x.
SUPPORTED = ("2.0", "3")

#: Client class -> provider: the cloud serving Claude when not Anthropic itself.
_CLASSES = {
    "Anthropic": "anthropic", "AsyncAnthropic": "anthropic", "Client": "anthropic",
    "AsyncClient": "anthropic", "AnthropicBedrock": "aws", "AsyncAnthropicBedrock": "aws",
    "AnthropicVertex": "google", "AsyncAnthropicVertex": "google",
    "AnthropicFoundry": "azure", "AsyncAnthropicFoundry": "azure",
}


#: wattmeter provider of a Claude client -> gen_ai.provider.name (GenAI semconv registry).
_SEMCONV = {"aws": "aws.bedrock", "google": "gcp.vertex_ai", "azure": "azure.ai.inference"}


def _details(usage: Usage, req: Request, message_id: Any = None, stop_reason: Any = None) -> None:
    """The span details of a Claude call: its endpoint, message id and stop reason."""
    usage.provider_name = _SEMCONV.get(req.provider)
    if isinstance(message_id, str):
        usage.response_id = message_id
    if isinstance(stop_reason, str):
        usage.finish_reasons = [stop_reason]


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _fill(usage: Usage, u: Any) -> None:
    """Anthropic usage -> wattmeter's convention (input includes cache reads and writes)."""
    read = _int(getattr(u, "cache_read_input_tokens", None))
    written = _int(getattr(u, "cache_creation_input_tokens", None))
    usage.input_tokens = _int(getattr(u, "input_tokens", None)) + read + written
    usage.cached_input_tokens = read


def _fill_output(usage: Usage, u: Any) -> None:
    usage.output_tokens = _int(getattr(u, "output_tokens", None))
    details = getattr(u, "output_tokens_details", None)
    if details is not None:
        usage.reasoning_tokens = _int(getattr(details, "thinking_tokens", None))


def _fill_all(usage: Usage, u: Any) -> None:
    _fill(usage, u)
    _fill_output(usage, u)


def _text_chars(response: Any) -> int:
    return sum(len(getattr(block, "text", None) or "")
               for block in getattr(response, "content", None) or ())


class Messages(StainlessEndpoint):
    """messages.create / parse / stream (and the beta equivalents)."""

    provider = "anthropic"
    operation = "chat"

    def __init__(self, stream_types: tuple[type, ...] = (),
                 raw_types: tuple[type, ...] = ()) -> None:
        self.raw_types = raw_types
        self.stream_classes = stream_types + raw_types

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        client = getattr(instance, "_client", None)
        provider, server = client_target(client, "anthropic", _CLASSES)
        model = kwargs.get("model")
        # state: [output chars seen, input reported, output reported]
        return Request(provider, model if isinstance(model, str) and model else "unknown",
                       self.operation, kwargs, [0, False, False], server=server)

    read_usage = staticmethod(_fill_all)
    output_chars = staticmethod(_text_chars)

    def usage(self, response: Any, req: Request) -> Usage:
        usage = super().usage(response, req)
        _details(usage, req, getattr(response, "id", None), getattr(response, "stop_reason", None))
        return usage

    def start_stream(self, req: Request) -> Usage:
        usage = super().start_stream(req)
        _details(usage, req)
        return usage

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        kind = chunk.type
        if kind == "content_block_delta":
            delta = chunk.delta
            text = getattr(delta, "text", None) or getattr(delta, "thinking", None) or \
                getattr(delta, "partial_json", None)
            if text:
                req.state[0] += len(text)
        elif kind == "message_start":
            message = chunk.message
            usage.response_model = message.model
            if isinstance(message.id, str):
                usage.response_id = message.id
            u = message.usage
            if u is not None:
                _fill_all(usage, u)
                req.state[1] = True
        elif kind == "message_delta":
            reason = getattr(chunk.delta, "stop_reason", None)
            if isinstance(reason, str):
                usage.finish_reasons = [reason]
            u = chunk.usage
            if u is not None:
                _fill_output(usage, u)
                if getattr(u, "input_tokens", None) is not None:
                    _fill(usage, u)
                req.state[2] = True
        return False

    def end_stream(self, usage: Usage, req: Request) -> Usage:
        state = req.state
        if not state[1]:
            kwargs = req.kwargs
            usage.input_tokens = chars_to_tokens(text_length(kwargs.get("messages")) +
                                                 text_length(kwargs.get("system")))
        if not state[2]:
            usage.output_tokens = max(usage.output_tokens, chars_to_tokens(state[0]))
        if not (state[1] and state[2]):
            usage.tokens_estimated = True
            usage.warn(PARTIAL if state[1] else NO_USAGE)
        return usage


def _stream_wrapper(endpoint: Messages, is_async: bool) -> Any:
    meter = wrapper_for(endpoint, is_async)

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        manager = wrapped(*args, **kwargs)
        try:
            def run(original: Any) -> Any:
                def send(*_a: Any, **_k: Any) -> Any:
                    return original if is_async else original()

                return meter(send, instance, (), {**kwargs, "stream": True})

            return ManagerProxy(manager, run, is_async)
        except Exception as exc:
            from .._guard import internal_error

            internal_error("anthropic.stream_helper", exc)
            return manager

    return wrapper


def patch() -> list[Patch]:
    """Patch messages.create/parse/stream on the sync and async clients (and beta)."""
    import anthropic
    from anthropic import _response

    endpoint = Messages((anthropic.Stream, anthropic.AsyncStream), (_response.BaseAPIResponse,))
    patches: list[Patch] = []
    for module in (first_importable("anthropic.resources.messages.messages",
                                    "anthropic.resources.messages"),  # a module before 0.4x
                   first_importable("anthropic.resources.beta.messages.messages",
                                    "anthropic.resources.beta.messages")):
        for cls, is_async in (("Messages", False), ("AsyncMessages", True)):
            try_patch(patches, module, f"{cls}.create", endpoint, is_async)
            try_patch(patches, module, f"{cls}.parse", endpoint, is_async)
            try_patch(patches, module, f"{cls}.stream", endpoint, is_async,
                      _stream_wrapper(endpoint, is_async))
    return patches
