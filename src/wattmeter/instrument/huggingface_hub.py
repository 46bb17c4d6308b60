"""Meter huggingface_hub's `InferenceClient` and `AsyncInferenceClient`.

Chat completions carry OpenAI-style usage (streams ask for it with
``stream_options.include_usage`` and the usage-only chunk is hidden); text generation
counts TGI's ``details`` when the caller asked for them and one token per streamed event
otherwise, estimating the prompt; embeddings estimate tokens from the text; images, speech
and transcriptions record size, steps, characters and audio seconds. The provider is
"huggingface" for the HF router, the routed provider's name when one is chosen, and for a
URL endpoint the name from its host ("self-hosted" on loopback; see ``provider_hosts``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .._config import current
from .._usage import Usage
from ._core import Endpoint, Request, add_finish_reason, approx_tokens
from ._huggingface_audio import audio_seconds
from ._patching import Patch, try_patch
from ._requests_common import add_openai_usage, field, provider_for_url
from ._server import Server, server_for_url
from ._textsize import estimate_chat_tokens, messages_tokens, texts_tokens

__all__ = ["DISTRIBUTION", "SUPPORTED", "model_from_url", "patch"]

DISTRIBUTION = "huggingface_hub"
SUPPORTED = ("0.33.3", "3")

#: huggingface_hub provider names -> wattmeter provider names (others are kept as they are).
_PROVIDER_NAMES = {
    None: "huggingface",
    "auto": "huggingface",
    "hf-inference": "huggingface",
    "fireworks-ai": "fireworks",
    "fal-ai": "fal",
    "featherless-ai": "featherless",
    "zai-org": "zai",
}
#: Routing policies the HF router accepts as a ``model:policy`` suffix.
_POLICIES = ("fastest", "cheapest", "preferred")
_UNKNOWN = "unknown"
#: The HF router: where ``hf-inference`` calls and auto-routed chat go (huggingface_hub's
#: ``INFERENCE_PROXY_TEMPLATE``, 2025); other providers are reached through it or directly
#: depending on the token, so their server is left unset.
_ROUTER: Server = ("router.huggingface.co", 443)
_ESTIMATED = "tokens estimated from text length: the endpoint reported no usage"


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


@lru_cache(maxsize=256)
def model_from_url(url: str) -> str:
    """The model id in an endpoint URL (the part after ``/models/``), else "unknown" (cached:
    a URL endpoint is named on every call)."""
    from urllib.parse import urlsplit

    path = urlsplit(url).path
    _, found, rest = path.partition("/models/")
    if not found:
        return _UNKNOWN
    for suffix in ("/v1/chat/completions", "/chat/completions", "/v1"):
        if rest.endswith(suffix):
            rest = rest[: -len(suffix)]
    rest = rest.partition("/pipeline/")[0].strip("/")
    return rest or _UNKNOWN


def _target(client: Any, model: Any, payload_model: Any = None) -> tuple[str, str]:
    """(provider, model) for a call: a URL endpoint, or a model id through a provider."""
    if _is_url(model):
        name = payload_model if isinstance(payload_model, str) and not _is_url(
            payload_model) else model_from_url(model)
        return provider_for_url(model), name
    provider = getattr(client, "provider", None)
    name = _PROVIDER_NAMES.get(provider, provider if isinstance(provider, str) else "huggingface")
    chosen = payload_model or model
    if not isinstance(chosen, str) or not chosen:
        return name, _UNKNOWN
    base, colon, suffix = chosen.rpartition(":")  # the router's "model:provider" / ":fastest"
    if colon and base and "/" not in suffix:
        if suffix not in _POLICIES:
            name = _PROVIDER_NAMES.get(suffix, suffix)
        chosen = base
    return name, chosen


def _server(client: Any, model: Any, chat: bool = False) -> Server | None:
    """(host, port) of a call: a URL endpoint's, the HF router's when it is certain."""
    if _is_url(model):
        return server_for_url(model)
    provider = getattr(client, "provider", None)
    if provider == "hf-inference" or (chat and provider in (None, "auto")):
        return _ROUTER
    return None


def _details(usage: Usage, response: Any, choices: Any) -> None:
    """gen_ai.response.id and finish reasons of a chat completion or a stream chunk."""
    if usage.response_id is None:
        rid = field(response, "id")
        if isinstance(rid, str):
            usage.response_id = rid
    for choice in choices or ():
        reason = field(choice, "finish_reason")
        if reason is not None:
            add_finish_reason(usage, reason)


class _State:
    """Per-call facts an endpoint needs after the response (no prompt text kept)."""

    __slots__ = ("chars", "exact", "input_estimate", "source")

    def __init__(self, input_estimate: int = 0, source: Any = None) -> None:
        self.input_estimate = input_estimate
        self.source = source  # the messages / audio, read only if usage is missing
        self.chars = 0
        self.exact = False


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], name: str) -> Any:
    return args[0] if args else kwargs.get(name)


def _unknown_model(usage: Usage) -> None:
    if usage.model == _UNKNOWN:
        usage.warn("model not known from the endpoint URL; put it in the URL path as "
                   "/models/<id> or pass model=")


class ChatCompletion(Endpoint):
    """`chat_completion` (also reached as ``client.chat.completions.create``)."""

    operation = "chat"

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        model = kwargs.get("model")
        client_model = getattr(instance, "model", None)
        provider, name = _target(instance, client_model or model, model or client_model)
        injected = False
        if (kwargs.get("stream") and kwargs.get("stream_options") is None
                and current().stream_usage):
            kwargs = {**kwargs, "stream_options": {"include_usage": True}}
            injected = True
        state = _State(source=_arg(args, kwargs, "messages"))
        return Request(provider, name, self.operation, kwargs, state, injected,
                       _server(instance, client_model or model, True))

    def usage(self, response: Any, req: Request) -> Usage:
        usage = Usage(req.provider, req.model, req.operation)
        _response_model(usage, field(response, "model"))
        _details(usage, response, field(response, "choices"))
        if not add_openai_usage(usage, field(response, "usage")):
            estimate_chat_tokens(usage, req.state.source, response)
            _estimated(usage)
        _unknown_model(usage)
        return usage

    def is_stream(self, response: Any, req: Request) -> bool:
        return bool(req.kwargs.get("stream")) and not isinstance(response, dict)

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        state: _State = req.state
        if usage.response_model is None:
            _response_model(usage, field(chunk, "model"))
        if usage.response_id is None:
            _details(usage, chunk, None)
        choices = field(chunk, "choices")
        if choices:
            for choice in choices:
                content = field(field(choice, "delta"), "content")
                if content:
                    state.chars += len(content)
                reason = field(choice, "finish_reason")
                if reason is not None:  # a choice's last chunk: rare
                    add_finish_reason(usage, reason)
        block = field(chunk, "usage")
        if block is not None and add_openai_usage(usage, block):
            state.exact = True
            return req.injected_usage and not choices
        return False

    def end_stream(self, usage: Usage, req: Request) -> Usage:
        state: _State = req.state
        if not state.exact:
            usage.input_tokens = messages_tokens(state.source)
            usage.output_tokens = (state.chars + 3) // 4
            _estimated(usage)
        _unknown_model(usage)
        return usage


def _response_model(usage: Usage, model: Any) -> None:
    if isinstance(model, str) and model and model not in ("dummy", "tgi"):
        usage.response_model = model
        if usage.model in (_UNKNOWN, "dummy"):
            usage.model = model


def _estimated(usage: Usage, what: str = _ESTIMATED) -> None:
    usage.tokens_estimated = True
    usage.warn(what)


class TextGeneration(Endpoint):
    """`text_generation`: TGI's ``details`` when asked for, else estimated from text."""

    operation = "completion"

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        model = kwargs.get("model") or getattr(instance, "model", None)
        provider, name = _target(instance, model)
        prompt = _arg(args, kwargs, "prompt")
        state = _State(approx_tokens(prompt) if isinstance(prompt, str) else 0)
        return Request(provider, name, self.operation, kwargs, state,
                       server=_server(instance, model))

    def usage(self, response: Any, req: Request) -> Usage:
        usage = Usage(req.provider, req.model, req.operation)
        usage.input_tokens = req.state.input_estimate
        details = field(response, "details") if not isinstance(response, str) else None
        generated = field(details, "generated_tokens")
        if isinstance(generated, int):
            usage.output_tokens = generated
            prefill = field(details, "prefill")
            if prefill:
                usage.input_tokens = len(prefill)
            else:
                _estimated(usage, "input tokens estimated from prompt length")
        else:
            text = response if isinstance(response, str) else field(response, "generated_text")
            usage.output_tokens = approx_tokens(text if isinstance(text, str) else None)
            _estimated(usage)
        _unknown_model(usage)
        return usage

    def is_stream(self, response: Any, req: Request) -> bool:
        return bool(req.kwargs.get("stream")) and not isinstance(response, (str, dict))

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        usage.output_tokens += 1  # TGI sends one event per generated token
        if not isinstance(chunk, str):
            details = field(chunk, "details")
            if details is not None:
                generated = field(details, "generated_tokens")
                if isinstance(generated, int):
                    usage.output_tokens = generated
                length = field(details, "input_length")
                if isinstance(length, int):
                    usage.input_tokens = length
                    req.state.exact = True
        return False

    def end_stream(self, usage: Usage, req: Request) -> Usage:
        if not req.state.exact:
            usage.input_tokens = req.state.input_estimate
            _estimated(usage, "input tokens estimated from prompt length; output tokens "
                       "counted one per streamed event")
        _unknown_model(usage)
        return usage


class _SimpleTask(Endpoint):
    """A task whose model comes from ``model=`` or the client; usage from request facts."""

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        model = kwargs.get("model") or getattr(instance, "model", None)
        provider, name = _target(instance, model)
        return Request(provider, name, self.operation, kwargs,
                       _State(source=_arg(args, kwargs, self.input_name)),
                       server=_server(instance, model))

    input_name = "text"


class FeatureExtraction(_SimpleTask):
    """`feature_extraction`: the endpoint reports no usage, so tokens are estimated."""

    operation = "embeddings"

    def usage(self, response: Any, req: Request) -> Usage:
        usage = Usage(req.provider, req.model, req.operation,
                      input_tokens=texts_tokens(req.state.source))
        _estimated(usage)
        _unknown_model(usage)
        return usage


class TextToImage(_SimpleTask):
    """`text_to_image`: one image; its size from the returned image, steps when given."""

    operation = "image"
    input_name = "prompt"

    def usage(self, response: Any, req: Request) -> Usage:
        kwargs = req.kwargs
        extra = kwargs.get("extra_body") or {}
        usage = Usage(req.provider, req.model, req.operation, images=1)
        size = getattr(response, "size", None)
        if isinstance(size, tuple) and len(size) == 2:
            usage.width, usage.height = int(size[0]), int(size[1])
        else:
            usage.width = kwargs.get("width") or extra.get("width")
            usage.height = kwargs.get("height") or extra.get("height")
        steps = kwargs.get("num_inference_steps") or extra.get("num_inference_steps")
        usage.steps = steps if isinstance(steps, int) else None
        _unknown_model(usage)
        return usage


class TextToSpeech(_SimpleTask):
    """`text_to_speech`: the characters of the input text."""

    operation = "speech"

    def usage(self, response: Any, req: Request) -> Usage:
        text = req.state.source
        usage = Usage(req.provider, req.model, req.operation,
                      characters=len(text) if isinstance(text, str) else 0)
        _unknown_model(usage)
        return usage


class SpeechRecognition(_SimpleTask):
    """`automatic_speech_recognition`: audio seconds from timestamps or the input's header."""

    operation = "transcription"
    input_name = "audio"

    def usage(self, response: Any, req: Request) -> Usage:
        usage = Usage(req.provider, req.model, req.operation)
        end = 0.0
        for chunk in field(response, "chunks") or ():
            stamp = field(chunk, "timestamp")
            if isinstance(stamp, (list, tuple)) and stamp and isinstance(stamp[-1], (int, float)):
                end = max(end, float(stamp[-1]))
        if end > 0:
            usage.audio_seconds = end
        else:
            seconds, exact = audio_seconds(req.state.source)
            usage.audio_seconds = seconds
            if seconds is None:
                usage.warn("audio duration unknown (a URL input); counted as zero seconds")
            elif not exact:
                usage.warn("audio duration approximated from the file size at 128 kbit/s")
        _unknown_model(usage)
        return usage


_ENDPOINTS: tuple[tuple[str, Endpoint], ...] = (
    ("chat_completion", ChatCompletion()),
    ("text_generation", TextGeneration()),
    ("feature_extraction", FeatureExtraction()),
    ("text_to_image", TextToImage()),
    ("text_to_speech", TextToSpeech()),
    ("automatic_speech_recognition", SpeechRecognition()),
)


def patch() -> list[Patch]:
    """Wrap the generative methods of both inference clients."""
    patches: list[Patch] = []
    for module, cls, is_async in (
        ("huggingface_hub.inference._client", "InferenceClient", False),
        ("huggingface_hub.inference._generated._async_client", "AsyncInferenceClient", True),
    ):
        for method, endpoint in _ENDPOINTS:
            try_patch(patches, module, f"{cls}.{method}", endpoint, is_async)
    return patches
