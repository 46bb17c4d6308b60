"""How each OpenAI endpoint is metered: the model off the request, a `Usage` off the response.

One class per kind of endpoint (chat, legacy completions, responses, embeddings, images,
speech, transcription), shared by the sync and async clients and by `AzureOpenAI` and every
OpenAI-compatible base URL. Chat and completion streams count their chunks with output
(about one token each), so a stream without a usage block can still be estimated; the
usage chunk wattmeter asked for (``stream_options.include_usage``) is hidden from user code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import _config
from .._usage import Usage
from ._core import Request, parse_size
from ._openai_hosts import TARGETS, client_target
from ._openai_proxies import StainlessEndpoint

__all__ = ["Chat", "Completion", "Embeddings", "Images", "OpenAIEndpoint", "Responses",
           "Speech", "Transcription", "chars_to_tokens", "text_length"]

_CLASSES = {"AzureOpenAI": "azure", "AsyncAzureOpenAI": "azure"}
_TEXT_KEYS = frozenset(("content", "text", "input", "prompt", "instructions", "messages",
                        "input_text", "system"))
NO_USAGE = "no usage reported by the provider; tokens estimated from the text (~4 chars/token)"
PARTIAL = "stream ended before its usage arrived; tokens estimated from the text received"
_BY_CHUNKS = "output tokens estimated from the chunks received (~1 token a chunk)"
NO_USAGE_CHUNKS = f"no usage reported by the provider; {_BY_CHUNKS}"
PARTIAL_CHUNKS = f"stream ended before its usage arrived; {_BY_CHUNKS}"


def text_length(value: Any) -> int:
    """Characters of text inside a prompt / message structure (no text is kept)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Mapping):
        return sum(text_length(v) for k, v in value.items() if k in _TEXT_KEYS)
    if isinstance(value, (list, tuple)):
        return sum(text_length(v) for v in value)
    return 0


def chars_to_tokens(chars: int) -> int:
    """Tokens estimated from a character count, like `approx_tokens` (~4 characters a token)."""
    return (chars + 3) // 4


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _model(kwargs: Mapping[str, Any], default: str) -> str:
    model = kwargs.get("model")
    return model if isinstance(model, str) and model else default


class OpenAIEndpoint(StainlessEndpoint):
    """Common request reading for every OpenAI resource method."""

    provider = "openai"
    default_model = "unknown"
    #: The SDK's stream and raw-response classes, set by `patch()` once the SDK is imported.
    stream_types: tuple[type, ...] = ()
    needs_response = True

    def __init__(self, stream_types: tuple[type, ...] = (),
                 raw_types: tuple[type, ...] = ()) -> None:
        self.stream_types = stream_types
        self.raw_types = raw_types
        self.stream_classes = (stream_types + raw_types) if self.needs_response else ()

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        client = getattr(instance, "_client", None)
        provider, server = client_target(client, "self-hosted", _CLASSES)
        return Request(provider, _model(kwargs, self.default_model), self.operation, kwargs,
                       [0, False], server=server)

    def prompt_chars(self, req: Request) -> int:
        return text_length(req.kwargs.get("messages")) + text_length(req.kwargs.get("prompt"))

    def end_stream(self, usage: Usage, req: Request) -> Usage:
        if not req.state[1]:
            usage.input_tokens = chars_to_tokens(self.prompt_chars(req))
            usage.output_tokens = chars_to_tokens(req.state[0])
            usage.tokens_estimated = True
            usage.warn(PARTIAL if req.kwargs.get("stream") is True and
                       req.injected_usage else NO_USAGE)
        return usage


def _fill_chat(usage: Usage, u: Any) -> None:
    try:  # the fast path: OpenAI's own usage object, every field present
        usage.input_tokens = u.prompt_tokens or 0
        usage.output_tokens = u.completion_tokens or 0
        details = u.prompt_tokens_details
        if details is not None:
            usage.cached_input_tokens = details.cached_tokens or 0
        details = u.completion_tokens_details
        if details is not None:
            usage.reasoning_tokens = details.reasoning_tokens or 0
        return
    except AttributeError:  # an OpenAI-compatible server left fields out
        pass
    usage.input_tokens = _int(getattr(u, "prompt_tokens", 0))
    usage.output_tokens = _int(getattr(u, "completion_tokens", 0))
    details = getattr(u, "prompt_tokens_details", None)
    usage.cached_input_tokens = _int(getattr(details, "cached_tokens", 0))
    details = getattr(u, "completion_tokens_details", None)
    usage.reasoning_tokens = _int(getattr(details, "reasoning_tokens", 0))


def _usage_chunk(usage: Usage, chunk: Any, u: Any, req: Request, choices: Any) -> bool:
    """Read a chat / completion chunk's usage block `u`, if any; True hides the chunk (the
    usage-only one wattmeter asked for)."""
    if u is None:
        return False
    _fill_chat(usage, u)
    usage.response_model = chunk.model
    req.state[1] = True
    return req.injected_usage and not choices


def _took(usage: Usage, chunk: Any, u: Any, req: Request) -> bool:
    """A chunk's usage block `u` read in place (`_sdk_streams`); True hides the chunk."""
    return _usage_chunk(usage, chunk, u, req, chunk.choices)


class Chat(OpenAIEndpoint):
    """chat.completions.create / parse (the ``.stream()`` helper goes through create)."""

    operation = "chat"

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        client = getattr(instance, "_client", None)
        url = getattr(client, "_base_url", None)
        hit = TARGETS.get(id(url))  # `client_target`'s cache read here: 0.4 µs a call in
        if hit is not None and hit[0] is url:  # situ (dearer without in 13 of 16 runs)
            provider, server = hit[1], hit[2]
        else:
            provider, server = client_target(client, "self-hosted", _CLASSES)
        model = kwargs.get("model")
        req = Request(provider, model if isinstance(model, str) and model else "unknown",
                      self.operation, kwargs, [0, False], False, server)
        if kwargs.get("stream") is True and not isinstance(kwargs.get("stream_options"),
                                                           Mapping):
            if _config.current().stream_usage:
                req.kwargs = {**kwargs, "stream_options": {"include_usage": True}}
                req.injected_usage = True
        return req

    read_usage = staticmethod(_fill_chat)
    took = staticmethod(_took)

    def end_counted(self, usage: Usage, req: Request, chunks: int) -> Usage:
        """The end of a stream metered in place (`_sdk_streams`): without usage, output
        tokens are the chunks received less those without text in OpenAI's format (the
        first, the role; for a stream read to its end, the last, the finish reason)."""
        if not req.state[1]:
            req.state[0] = max(chunks - 1, 0)
        return self.end_stream(usage, req)

    def end_stream(self, usage: Usage, req: Request) -> Usage:
        """Without usage, a stream's output tokens are its chunks with text or tool-call
        arguments (``req.state[0]``: an OpenAI-compatible server sends ~1 token a chunk),
        in place as through the proxy; a complete response's come from its text."""
        if req.state[1] or req.kwargs.get("stream") is not True:
            return super().end_stream(usage, req)
        usage.input_tokens = chars_to_tokens(self.prompt_chars(req))
        usage.output_tokens = req.state[0]
        usage.tokens_estimated = True
        usage.warn(PARTIAL_CHUNKS if req.injected_usage else NO_USAGE_CHUNKS)
        return usage

    def response_details(self, usage: Usage, response: Any) -> None:
        _response_details(usage, response, getattr(response, "choices", None))

    def output_chars(self, response: Any) -> int:
        return sum(len(self._choice_text(c) or "") for c in getattr(response, "choices", None)
                   or ())

    def error_usage(self, exc: BaseException, req: Request) -> Usage | None:
        """The parse helpers raise after a complete response (e.g. the length limit was
        reached): its tokens were generated, so they are recorded with the error."""
        completion = getattr(exc, "completion", None)
        if completion is None or getattr(completion, "usage", None) is None:
            return None
        return self.usage(completion, req)

    @staticmethod
    def _choice_text(choice: Any) -> str | None:
        message = getattr(choice, "message", None)
        return getattr(message, "content", None) if message is not None else None

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        choices = chunk.choices
        if usage.response_id is None:
            usage.response_id = chunk.id
        if choices:
            choice = choices[0]
            delta = choice.delta
            if delta is not None and (delta.content or delta.tool_calls):
                req.state[0] += 1  # a chunk with output: ~1 token (`end_stream`)
            if choice.finish_reason is not None:  # the last chunk of a choice: rare
                _response_details(usage, chunk, choices)
        u = chunk.usage  # None but in the last chunk: no call for the others
        return False if u is None else _usage_chunk(usage, chunk, u, req, choices)


def _response_details(usage: Usage, response: Any, choices: Any) -> None:
    """gen_ai.response.id and finish reasons off a completion or a stream chunk."""
    if usage.response_id is None:
        rid = getattr(response, "id", None)
        if isinstance(rid, str):
            usage.response_id = rid
    for choice in choices or ():
        reason = getattr(choice, "finish_reason", None)
        if isinstance(reason, str):
            reasons = usage.finish_reasons
            if reasons is None:
                usage.finish_reasons = [reason]
            elif reason not in reasons:
                reasons.append(reason)


class Completion(Chat):
    """The legacy completions endpoint (prompt in, text out)."""

    operation = "completion"

    @staticmethod
    def _choice_text(choice: Any) -> str | None:
        return getattr(choice, "text", None)

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        choices = chunk.choices
        if choices and choices[0].text:
            req.state[0] += 1
        return _usage_chunk(usage, chunk, getattr(chunk, "usage", None), req, choices)


def _fill_responses(usage: Usage, u: Any) -> None:
    usage.input_tokens = _int(getattr(u, "input_tokens", 0))
    usage.output_tokens = _int(getattr(u, "output_tokens", 0))
    details = getattr(u, "input_tokens_details", None)
    if details is not None:
        usage.cached_input_tokens = _int(getattr(details, "cached_tokens", 0))
    details = getattr(u, "output_tokens_details", None)
    if details is not None:
        usage.reasoning_tokens = _int(getattr(details, "reasoning_tokens", 0))


def _output_text_chars(response: Any) -> int:
    text = getattr(response, "output_text", None)
    return len(text) if isinstance(text, str) else 0


_FINAL_EVENTS = frozenset(("response.completed", "response.incomplete", "response.failed"))


class Responses(OpenAIEndpoint):
    """responses.create / parse (streams report usage in their final event)."""

    operation = "chat"

    def prompt_chars(self, req: Request) -> int:
        return text_length(req.kwargs.get("input")) + text_length(req.kwargs.get("instructions"))

    read_usage = staticmethod(_fill_responses)
    output_chars = staticmethod(_output_text_chars)

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        kind = chunk.type
        if kind == "response.output_text.delta":
            req.state[0] += len(chunk.delta)
        elif kind in _FINAL_EVENTS:
            response = chunk.response
            usage.response_model = response.model
            if response.usage is not None:
                _fill_responses(usage, response.usage)
                req.state[1] = True
        return False


class Embeddings(OpenAIEndpoint):
    """embeddings.create: input tokens only."""

    operation = "embeddings"

    def prompt_chars(self, req: Request) -> int:
        return text_length(req.kwargs.get("input"))

    def usage(self, response: Any, req: Request) -> Usage:
        usage = Usage(req.provider, req.model, req.operation,
                      response_model=getattr(response, "model", None))
        u = getattr(response, "usage", None)
        if u is not None:
            usage.input_tokens = _int(getattr(u, "prompt_tokens", 0))
            return usage
        return self.end_stream(usage, req)


#: Image size when the request does not say: the Images API's default for every model.
DEFAULT_IMAGE_SIZE = (1024, 1024)


class Images(OpenAIEndpoint):
    """images.generate / edit / create_variation: images, size; gpt-image tokens if reported."""

    operation = "image"
    default_model = "dall-e-2"

    def usage(self, response: Any, req: Request) -> Usage:
        kwargs = req.kwargs
        n = kwargs.get("n")
        data = getattr(response, "data", None)
        images = len(data) if data else (n if isinstance(n, int) else 1)
        width, height = parse_size(kwargs.get("size"))
        usage = Usage(req.provider, req.model, req.operation, images=images)
        if width is None:
            width, height = parse_size(getattr(response, "size", None))
        if width is None:
            width, height = DEFAULT_IMAGE_SIZE
            usage.warn("image size not given; assumed 1024x1024 (the Images API default)")
        usage.width, usage.height = width, height
        u = getattr(response, "usage", None)
        if u is not None:
            usage.input_tokens = _int(getattr(u, "input_tokens", 0))
            usage.output_tokens = _int(getattr(u, "output_tokens", 0))
        return usage

    def end_stream(self, usage: Usage, req: Request) -> Usage:
        return self.usage(None, req) if usage.images is None else usage

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        if getattr(chunk, "type", "").endswith(".completed"):
            usage.images = (usage.images or 0) + 1
            w, h = parse_size(getattr(chunk, "size", None) or req.kwargs.get("size"))
            usage.width, usage.height = w or DEFAULT_IMAGE_SIZE[0], h or DEFAULT_IMAGE_SIZE[1]
            u = getattr(chunk, "usage", None)
            if u is not None:
                usage.input_tokens += _int(getattr(u, "input_tokens", 0))
                usage.output_tokens += _int(getattr(u, "output_tokens", 0))
        return False


class Speech(OpenAIEndpoint):
    """audio.speech.create: characters of the input text (the response is audio bytes)."""

    operation = "speech"
    default_model = "tts-1"
    needs_response = False

    def usage(self, response: Any, req: Request) -> Usage:
        text = req.kwargs.get("input")
        return Usage(req.provider, req.model, req.operation,
                     characters=len(text) if isinstance(text, str) else 0)


class Transcription(OpenAIEndpoint):
    """audio.transcriptions / translations: audio seconds (reported or from the file size)."""

    operation = "transcription"
    default_model = "whisper-1"

    def usage(self, response: Any, req: Request) -> Usage:
        usage = Usage(req.provider, req.model, req.operation)
        seconds = getattr(response, "duration", None)
        self._fill(usage, getattr(response, "usage", None))
        if isinstance(seconds, (int, float)) and usage.audio_seconds is None:
            usage.audio_seconds = float(seconds)
        return self.end_stream(usage, req)

    @staticmethod
    def _fill(usage: Usage, u: Any) -> None:
        if u is None:
            return
        kind = getattr(u, "type", None)
        if kind == "duration":
            usage.audio_seconds = float(getattr(u, "seconds", 0.0) or 0.0)
        elif kind == "tokens":
            usage.input_tokens = _int(getattr(u, "input_tokens", 0))
            usage.output_tokens = _int(getattr(u, "output_tokens", 0))

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        if getattr(chunk, "type", None) == "transcript.text.done":
            self._fill(usage, getattr(chunk, "usage", None))
        return False

    def end_stream(self, usage: Usage, req: Request) -> Usage:
        if usage.audio_seconds is None:
            from ._openai_audio import audio_seconds

            seconds = audio_seconds(req.kwargs.get("file"))
            if seconds is not None:
                usage.audio_seconds = seconds
                usage.warn("audio duration not reported; estimated from the file size "
                           "(see wattmeter.instrument._openai_audio)")
            else:
                usage.warn("audio duration unknown (file size unreadable)")
        return usage
