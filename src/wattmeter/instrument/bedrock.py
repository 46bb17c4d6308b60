"""Meter boto3 ``bedrock-runtime``: Converse, ConverseStream, InvokeModel and
InvokeModelWithResponseStream, each call once.

botocore builds every client method at run time and sends them all through
``BaseClient._make_api_call(operation_name, api_params)``, so that one method is patched;
calls to other services or operations pass straight through after one dict lookup. The
provider is ``bedrock`` (``aws.bedrock`` on spans); the model is read off ``modelId``
(base ids, cross-region inference profiles, ARNs; see `_bedrock_bodies.model_name`).
Usage comes from Converse's ``usage`` block, the ``metadata`` event of ConverseStream,
InvokeModel's ``X-Amzn-Bedrock-Input-/Output-Token-Count`` response headers, else its
body (read as the caller reads it, never ahead), and the chunks of
InvokeModelWithResponseStream. Streams (botocore ``EventStream``) are proxied in place
in the response dict. Like Anthropic's, Bedrock's input count leaves out prompt-cache
reads and writes; wattmeter adds them back (input = all prompt tokens).
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator
from typing import Any

import wrapt

from .._guard import internal_error
from .._meter import Call
from .._usage import Usage
from ._bedrock_bodies import (
    body_usage,
    chunk_usage,
    count,
    model_name,
    operation_for,
    text_chars,
)
from ._core import Endpoint, Request, add_finish_reason, wrapper_for
from ._openai_endpoints import NO_USAGE, PARTIAL, chars_to_tokens, text_length
from ._patching import Patch, try_patch
from ._server import server_for_url, stamp
from ._stream import StreamProxy

__all__ = ["DISTRIBUTION", "SUPPORTED", "patch"]

DISTRIBUTION = "botocore"
#: Converse and ConverseStream arrived in botocore 1.34.116 (May 2024); tested with 1.44.
SUPPORTED = ("1.34.116", "2")
SERVICE = "bedrock-runtime"
#: Largest InvokeModel body kept to read its token counts (bigger ones are estimated).
MAX_BODY_BYTES = 8 * 1024 * 1024


class _State:
    """Per call: the request parameters, text seen, and which counts were reported."""

    __slots__ = ("chars", "params", "seen")

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.chars = 0
        self.seen = [False, False]  # input counted, output counted


def _params(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    params = args[1] if len(args) > 1 else kwargs.get("api_params")
    return params if isinstance(params, dict) else {}


def _prompt_tokens(params: dict[str, Any]) -> int:
    """Input tokens estimated from the request's text (Converse fields or a JSON body)."""
    chars = text_length(params.get("messages")) + text_length(params.get("system"))
    body = params.get("body")
    if not chars and isinstance(body, (bytes, str)):
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        chars = text_length(parsed) + (len(parsed.get("inputText") or "") if isinstance(
            parsed, dict) and isinstance(parsed.get("inputText"), str) else 0)
    return chars_to_tokens(chars)


def _estimate_rest(usage: Usage, state: _State) -> Usage:
    """Fill whatever the response did not report from text lengths, with a warning."""
    inp, out = state.seen
    if inp and out:
        return usage
    if not inp:
        usage.input_tokens = _prompt_tokens(state.params)
    if not out and usage.operation != "embeddings":
        usage.output_tokens = max(usage.output_tokens, chars_to_tokens(state.chars))
    usage.tokens_estimated = True
    usage.warn(PARTIAL if inp or out else NO_USAGE)
    return usage


class _Bedrock(Endpoint):
    may_nest = False  # botocore sends with urllib3, which wattmeter doesn't meter
    provider = "bedrock"

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        params = _params(args, kwargs)
        model_id = params.get("modelId")
        meta = getattr(instance, "meta", None)
        return Request(self.provider, model_name(model_id), operation_for(model_id), kwargs,
                       _State(params), server=server_for_url(getattr(meta, "endpoint_url", None)))

    def end_stream(self, usage: Usage, req: Request) -> Usage:
        return _estimate_rest(usage, req.state)


def _converse_usage(usage: Usage, block: Any, state: _State) -> None:
    if not isinstance(block, dict):
        return
    read = count(block.get("cacheReadInputTokens")) or 0
    written = count(block.get("cacheWriteInputTokens")) or 0
    inp, out = count(block.get("inputTokens")), count(block.get("outputTokens"))
    if inp is not None:
        usage.input_tokens = inp + read + written
        usage.cached_input_tokens = read
        state.seen[0] = True
    if out is not None:
        usage.output_tokens = out
        state.seen[1] = True


class Converse(_Bedrock):
    """``converse``: the response's ``usage`` block and ``stopReason`` (Bedrock returns no
    response id: only the HTTP request id, which is not one)."""

    def usage(self, response: Any, req: Request) -> Usage:
        usage = Usage(req.provider, req.model, req.operation)
        if isinstance(response, dict):
            add_finish_reason(usage, response.get("stopReason"))
        _converse_usage(usage, response.get("usage") if isinstance(response, dict) else None,
                        req.state)
        if not all(req.state.seen):
            req.state.chars = text_chars(response.get("output") if isinstance(
                response, dict) else None)
        return _estimate_rest(usage, req.state)


class _EventStreamEndpoint(_Bedrock):
    """A response dict whose `key` holds a botocore ``EventStream``, proxied in place."""

    key = "stream"

    def is_stream(self, response: Any, req: Request) -> bool:
        return isinstance(response, dict) and response.get(self.key) is not None

    def wrap_stream(self, response: Any, call: Call, req: Request, is_async: bool) -> Any:
        response[self.key] = StreamProxy(response[self.key], call, self, req)
        return response


class ConverseStream(_EventStreamEndpoint):
    """``converse_stream``: text deltas, then a ``metadata`` event with the usage."""

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        delta = chunk.get("contentBlockDelta") if isinstance(chunk, dict) else None
        if delta is not None:
            inner = delta.get("delta") if isinstance(delta, dict) else None
            text = inner.get("text") if isinstance(inner, dict) else None
            # Text deltas (the common case) directly; tool input and reasoning by walking.
            req.state.chars += len(text) if isinstance(text, str) else text_chars(delta)
        elif isinstance(chunk, dict):
            if "metadata" in chunk:
                meta = chunk["metadata"]
                _converse_usage(usage, meta.get("usage") if isinstance(meta, dict) else None,
                                req.state)
            elif "messageStop" in chunk:
                stop = chunk["messageStop"]
                if isinstance(stop, dict):
                    add_finish_reason(usage, stop.get("stopReason"))
        return False


class InvokeModelStream(_EventStreamEndpoint):
    """``invoke_model_with_response_stream``: each chunk's JSON in the model's format."""

    key = "body"

    def on_chunk(self, usage: Usage, chunk: Any, req: Request) -> bool:
        part = chunk.get("chunk") if isinstance(chunk, dict) else None
        data = part.get("bytes") if isinstance(part, dict) else None
        if isinstance(data, (bytes, str)):
            try:
                parsed = json.loads(data)
            except ValueError:
                return False
            req.state.chars += text_chars(parsed)
            chunk_usage(usage, parsed, req.state.seen)
        return False


def _headers(response: Any) -> dict[str, Any]:
    meta = response.get("ResponseMetadata") if isinstance(response, dict) else None
    headers = meta.get("HTTPHeaders") if isinstance(meta, dict) else None
    return headers if isinstance(headers, dict) else {}


class InvokeModel(_Bedrock):
    """``invoke_model``: Bedrock's token-count headers, else the body as the caller reads it."""

    def usage(self, response: Any, req: Request) -> Usage:
        usage = Usage(req.provider, req.model, req.operation)
        headers = _headers(response)
        inp = count(headers.get("x-amzn-bedrock-input-token-count"))
        out = count(headers.get("x-amzn-bedrock-output-token-count"))
        if inp is not None:
            usage.input_tokens = inp
            req.state.seen[0] = True
        if out is not None:
            usage.output_tokens = out
            req.state.seen[1] = True
        return _estimate_rest(usage, req.state)

    def is_stream(self, response: Any, req: Request) -> bool:
        headers = _headers(response)
        return ("x-amzn-bedrock-input-token-count" not in headers
                and isinstance(response, dict) and response.get("body") is not None)

    def wrap_stream(self, response: Any, call: Call, req: Request, is_async: bool) -> Any:
        response["body"] = BodyProxy(response["body"], call, self, req)
        return response


def _end_body(call: Call, endpoint: InvokeModel, req: Request, buffer: bytearray) -> None:
    if call.finished:
        return
    try:
        usage = Usage(req.provider, req.model, req.operation)
        state: _State = req.state
        try:
            parsed = json.loads(bytes(buffer)) if buffer else None
        except ValueError:
            parsed = None
        if body_usage(usage, parsed):
            state.seen[:] = [True, True]
        else:
            state.chars = text_chars(parsed)
        stamp(usage, req.server)
        call.finish(_estimate_rest(usage, state))
    except Exception as exc:
        internal_error("bedrock.body", exc)
        call.finish(None)


class BodyProxy(wrapt.ObjectProxy):
    """A botocore ``StreamingBody`` that keeps what the caller reads, to count its tokens.

    The call is finished when the body has been read to its end, closed, or collected.
    """

    def __init__(self, wrapped: Any, call: Call, endpoint: InvokeModel, req: Request) -> None:
        super().__init__(wrapped)
        self._self_buffer = bytearray()
        self._self_finalizer = weakref.finalize(self, _end_body, call, endpoint, req,
                                                self._self_buffer)

    def _self_keep(self, data: Any, at_end: bool) -> None:
        if isinstance(data, bytes) and len(self._self_buffer) + len(data) <= MAX_BODY_BYTES:
            self._self_buffer += data
        if at_end or not data:
            self._self_finalizer()

    def read(self, amt: int | None = None) -> Any:
        data = self.__wrapped__.read(amt)
        self._self_keep(data, amt is None)
        return data

    def readlines(self) -> Any:
        lines = self.__wrapped__.readlines()
        self._self_keep(b"".join(lines), True)
        return lines

    def iter_chunks(self, chunk_size: int = 1024) -> Iterator[bytes]:
        while True:
            data = self.read(chunk_size)
            if not data:
                return
            yield data

    def iter_lines(self, chunk_size: int = 1024, keepends: bool = False) -> Iterator[bytes]:
        pending = b""
        for data in self.iter_chunks(chunk_size):
            lines = (pending + data).splitlines(True)
            pending = lines.pop() if lines and not lines[-1].endswith((b"\n", b"\r")) else b""
            for line in lines:
                yield line if keepends else line.splitlines()[0]
        if pending:
            yield pending

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_chunks()

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_finalizer()


_ENDPOINTS: dict[str, Endpoint] = {
    "Converse": Converse(),
    "ConverseStream": ConverseStream(),
    "InvokeModel": InvokeModel(),
    "InvokeModelWithResponseStream": InvokeModelStream(),
}
_WRAPPERS = {name: wrapper_for(endpoint, False) for name, endpoint in _ENDPOINTS.items()}


def _service(client: Any) -> Any:
    try:
        return client.meta.service_model.service_name
    except AttributeError:
        return None


def _make_api_call(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    operation = args[0] if args else kwargs.get("operation_name")
    meter = _WRAPPERS.get(operation) if isinstance(operation, str) else None
    if meter is None or _service(instance) != SERVICE:
        return wrapped(*args, **kwargs)
    return meter(wrapped, instance, args, kwargs)


def patch() -> list[Patch]:
    """Wrap botocore's one dispatch method for every client operation."""
    patches: list[Patch] = []
    try_patch(patches, "botocore.client", "BaseClient._make_api_call", Converse(),
              wrapper=_make_api_call)
    return patches
