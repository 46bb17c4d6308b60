"""Meter litellm's ``completion``/``acompletion``, ``embedding``/``aembedding`` and
``image_generation``/``aimage_generation``, once per call.

Usage comes from litellm's own normalised ``ModelResponse.usage`` whatever the backend;
streams ask for a usage chunk (``stream_options.include_usage``) unless the caller set
``stream_options``, and that extra chunk is hidden from user code. When litellm calls the
openai or anthropic library underneath and those are instrumented too, the meter core's
nesting makes the call count once, under litellm's provider and model. The provider is
litellm's (``openai``, ``anthropic``, ``gemini`` -> ``google``...), the model is named
without litellm's ``provider/`` prefix; an OpenAI-compatible ``api_base`` is named from
its host like the openai integration does. The package-level functions are patched, so
``from litellm import completion`` must run after `wattmeter.instrument()`.
"""

from __future__ import annotations

from typing import Any

from .._config import current
from .._usage import Usage
from ._core import Endpoint, Request, add_finish_reason, parse_size
from ._patching import Patch, try_patch
from ._requests_common import add_openai_usage, field, provider_for_url
from ._server import server_for_url
from ._textsize import estimate_chat_tokens, messages_tokens, texts_tokens

__all__ = ["DISTRIBUTION", "SUPPORTED", "patch", "provider_name"]

DISTRIBUTION = "litellm"
SUPPORTED = ("1.110.2", "2")

#: litellm provider names -> wattmeter's (others are kept as they are).
_PROVIDERS = {
    "gemini": "google",
    "vertex_ai": "google",
    "vertex_ai_beta": "google",
    "text-completion-openai": "openai",
    "cohere_chat": "cohere",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "mistral": "mistral",
    "codestral": "mistral",
    "text-completion-codestral": "mistral",
    "azure_ai": "azure",
    "azure_text": "azure",
    "huggingface": "huggingface",
    "ollama": "self-hosted",
    "ollama_chat": "self-hosted",
    "vllm": "self-hosted",
    "hosted_vllm": "self-hosted",
    "lm_studio": "self-hosted",
    "llamafile": "self-hosted",
    "xinference": "self-hosted",
    "triton": "self-hosted",
}
#: Providers that speak OpenAI's wire format to whatever ``api_base`` says.
_OPENAI_COMPATIBLE = {"openai", "openai_like", "custom_openai", "text-completion-openai"}
#: Size of a generated image when the request names none: OpenAI's DALL-E 3 / gpt-image-1
#: and Google's Imagen all default to 1024x1024 (their API references, 2025).
DEFAULT_IMAGE_SIZE = (1024, 1024)
_ESTIMATED = "tokens estimated from text length: litellm reported no usage"


def _split(model: str, explicit: Any) -> tuple[str, str | None]:
    """(model without prefix, litellm provider) from the model string alone, when possible."""
    if isinstance(explicit, str) and explicit:
        prefix, slash, rest = model.partition("/")
        return (rest if slash and prefix == explicit else model), explicit
    prefix, slash, rest = model.partition("/")
    if slash:
        import litellm

        if prefix in litellm.provider_list:
            return rest, prefix
    return model, None


def _litellm_provider(model: str, kwargs: dict[str, Any],
                      api_base: Any) -> tuple[str, str | None, Any]:
    """(model, litellm provider, api_base): litellm's routing names the base of some
    providers (e.g. an OpenAI-compatible host) when the request did not."""
    name, provider = _split(model, kwargs.get("custom_llm_provider"))
    if provider is None:
        import litellm

        try:
            name, provider, _key, base = litellm.get_llm_provider(model=model,
                                                                  api_base=api_base)
            api_base = api_base or base
        except Exception:  # litellm will fail the call itself, with its own message
            provider = None
    return name, provider, api_base


def provider_name(litellm_provider: str | None, api_base: Any = None) -> str:
    """wattmeter's provider name for a litellm provider (and the request's ``api_base``)."""
    if not litellm_provider:
        return "unknown"
    if litellm_provider in _OPENAI_COMPATIBLE and isinstance(api_base, str) and api_base:
        return provider_for_url(api_base)
    return _PROVIDERS.get(litellm_provider, litellm_provider)


class _State:
    """Per-call facts read after the response (lengths, litellm's hidden usage; no text)."""

    __slots__ = ("chars", "exact", "hidden", "source", "unreported")

    def __init__(self, source: Any) -> None:
        self.source = source
        self.chars = 0
        self.exact = False
        self.hidden: Any = None
        self.unreported = False


def _estimated(usage: Usage) -> None:
    usage.tokens_estimated = True
    usage.warn(_ESTIMATED)


class _LiteLLMEndpoint(Endpoint):
    """Reads model and provider the way litellm routes the call."""

    model_position = 0
    source_name = "messages"
    source_position = 1

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        model = args[self.model_position] if len(args) > self.model_position else kwargs.get(
            "model")
        model = model if isinstance(model, str) and model else "unknown"
        api_base = kwargs.get("api_base") or kwargs.get("base_url")
        name, provider, api_base = _litellm_provider(model, kwargs, api_base) \
            if model != "unknown" else (model, kwargs.get("custom_llm_provider"), api_base)
        source = (args[self.source_position] if len(args) > self.source_position
                  else kwargs.get(self.source_name))
        return Request(provider_name(provider, kwargs.get("api_base") or kwargs.get("base_url")),
                       name, self.operation, kwargs, _State(source),
                       server=server_for_url(api_base))


def _response_model(usage: Usage, response: Any) -> None:
    model = field(response, "model")
    if isinstance(model, str) and model:
        usage.response_model = model


def _details(usage: Usage, response: Any) -> None:
    """gen_ai.response.id and the choices' finish reasons of a ``ModelResponse``."""
    rid = field(response, "id")
    if isinstance(rid, str) and rid:
        usage.response_id = rid
    for choice in field(response, "choices") or ():
        reason = field(choice, "finish_reason")
        if reason is not None:
            add_finish_reason(usage, reason)


class Completion(_LiteLLMEndpoint):
    """``completion`` / ``acompletion``: chat, streamed or not."""

    operation = "chat"

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        req = super().request(instance, args, kwargs)
        if (kwargs.get("stream") and kwargs.get("stream_options") is None
                and current().stream_usage):
            req.kwargs = {**kwargs, "stream_options": {"include_usage": True}}
            req.injected_usage = True
        return req

    def usage(self, response: Any, req: Request) -> Usage:
        usage = Usage(req.provider, req.model, req.operation)
        _response_model(usage, response)
        _details(usage, response)
        if not add_openai_usage(usage, field(response, "usage")):
            estimate_chat_tokens(usage, req.state.source, response)
            _estimated(usage)
        return usage

    def is_stream(self, response: Any, req: Request) -> bool:
        return bool(req.kwargs.get("stream")) and (
            hasattr(response, "__next__") or hasattr(response, "__anext__"))

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        state: _State = req.state
        if usage.response_model is None:
            _response_model(usage, chunk)
        if usage.response_id is None:
            rid = field(chunk, "id")
            if isinstance(rid, str) and rid:
                usage.response_id = rid
        has_content = False
        for choice in field(chunk, "choices") or ():
            delta = field(choice, "delta")
            content = field(delta, "content")
            reason = field(choice, "finish_reason")
            if reason:  # a choice's last chunk
                add_finish_reason(usage, reason)
            if content:
                state.chars += len(content)
                has_content = True
            elif reason or field(delta, "tool_calls"):
                has_content = True
        block = getattr(chunk, "usage", None)
        if block is not None and add_openai_usage(usage, block):
            state.exact = True
            return req.injected_usage and not has_content
        hidden = getattr(chunk, "_hidden_params", None)
        if isinstance(hidden, dict) and "usage" in hidden:
            state.hidden = hidden  # litellm fills in the final usage here at the end
            # litellm >= 1.110 marks a stream whose provider sent no usage with an
            # ``UnreportedUsage`` on the last chunk, then swaps in its own tokenizer count.
            if type(hidden["usage"]).__name__ == "UnreportedUsage":
                state.unreported = True
        # The final chunk litellm adds because we asked for usage, even when the provider
        # sent none (no choices, no counts): still ours to hide, so the caller sees the
        # stream it would have seen without wattmeter.
        return req.injected_usage and not has_content and not field(chunk, "choices")

    def end_stream(self, usage: Usage, req: Request) -> Usage:
        state: _State = req.state
        if state.exact:
            return usage
        hidden = None if state.unreported or state.hidden is None else state.hidden.get("usage")
        if add_openai_usage(usage, hidden) and (usage.input_tokens or usage.output_tokens):
            return usage
        usage.input_tokens = messages_tokens(state.source)
        usage.output_tokens = (state.chars + 3) // 4
        usage.cached_input_tokens = usage.reasoning_tokens = 0
        _estimated(usage)
        return usage


class Embedding(_LiteLLMEndpoint):
    """``embedding`` / ``aembedding``."""

    operation = "embeddings"
    source_name = "input"

    def usage(self, response: Any, req: Request) -> Usage:
        usage = Usage(req.provider, req.model, req.operation)
        _response_model(usage, response)
        if not add_openai_usage(usage, field(response, "usage")) or not usage.input_tokens:
            usage.input_tokens = texts_tokens(req.state.source)
            _estimated(usage)
        usage.output_tokens = 0
        return usage


class ImageGeneration(_LiteLLMEndpoint):
    """``image_generation`` / ``aimage_generation``: images, size, steps when given."""

    operation = "image"
    model_position = 1
    source_name = "prompt"
    source_position = 0

    def usage(self, response: Any, req: Request) -> Usage:
        kwargs = req.kwargs
        data = field(response, "data")
        n = len(data) if isinstance(data, list) and data else (kwargs.get("n") or 1)
        width, height = parse_size(kwargs.get("size"))
        if width is None:
            width, height = DEFAULT_IMAGE_SIZE
        steps = kwargs.get("num_inference_steps") or kwargs.get("steps")
        return Usage(req.provider, req.model, req.operation, images=n, width=width,
                     height=height, steps=steps if isinstance(steps, int) else None)


_ENDPOINTS: tuple[tuple[str, Endpoint, bool], ...] = (
    ("completion", Completion(), False),
    ("acompletion", Completion(), True),
    ("embedding", Embedding(), False),
    ("aembedding", Embedding(), True),
    ("image_generation", ImageGeneration(), False),
    ("aimage_generation", ImageGeneration(), True),
)


def patch() -> list[Patch]:
    """Wrap litellm's package-level generation functions."""
    patches: list[Patch] = []
    for name, endpoint, is_async in _ENDPOINTS:
        try_patch(patches, "litellm", name, endpoint, is_async)
    return patches
