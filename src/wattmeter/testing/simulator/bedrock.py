"""Amazon Bedrock Runtime, simulated: Converse, ConverseStream, InvokeModel and
InvokeModelWithResponseStream, streams in AWS event-stream binary framing.

Shaped like botocore's ``bedrock-runtime`` service model (rest-json; routes
``/model/{modelId}/converse`` etc., the model id URL-encoded). InvokeModel bodies follow
each model family's published request/response format: Anthropic Messages
(``anthropic.*``), Meta Llama (``meta.*``), Amazon Nova (``amazon.nova-*``), Amazon Titan
Text and Embeddings, Mistral (``mistral.*``). Token counts are also sent as Bedrock's
``X-Amzn-Bedrock-Input-Token-Count`` / ``-Output-Token-Count`` headers, and the last
streamed chunk carries ``amazon-bedrock-invocationMetrics``, as Bedrock does; a request
with the header ``x-sim-omit-token-headers`` gets no such headers (to test body parsing).
Event-stream messages are framed as in AWS's event-stream encoding: a prelude (total and
header lengths, CRC32), string headers, the JSON payload and a CRC32 of the message.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from ._server import (
    WORD,
    Reply,
    Response,
    SimRequest,
    Simulator,
    check_model,
    chunk_sizes,
    count_tokens,
    json_response,
    text_of,
)

__all__ = ["base_model_id", "event_message", "register"]

_ERRORS = {400: "ValidationException", 403: "AccessDeniedException",
           404: "ResourceNotFoundException", 429: "ThrottlingException",
           500: "InternalServerException", 503: "ServiceUnavailableException"}
_STREAM_TYPE = "application/vnd.amazon.eventstream"
_REGIONS = ("us", "eu", "apac", "global", "us-gov", "jp", "au", "ca")


def _error(status: int, model: str) -> Response:
    kind = _ERRORS.get(status, "InternalServerException")
    return json_response({"message": f"simulated error {status} for model {model}"}, status,
                         headers={"x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/"})


def base_model_id(model_id: str) -> str:
    """``anthropic.claude-...-v1:0`` from a plain id, an inference profile or an ARN."""
    if model_id.startswith("arn:"):
        model_id = model_id.rsplit("/", 1)[-1]
    prefix, dot, rest = model_id.partition(".")
    return rest if dot and prefix in _REGIONS and "." in rest else model_id


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (struct.pack("!B", len(raw_name)) + raw_name + b"\x07"
            + struct.pack("!H", len(raw_value)) + raw_value)


def event_message(event_type: str, payload: Any) -> bytes:
    """One event-stream message: prelude + CRC, headers, JSON payload, message CRC."""
    headers = (_header(":event-type", event_type) + _header(":content-type", "application/json")
               + _header(":message-type", "event"))
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack("!II", total, len(headers))
    prelude += struct.pack("!I", binascii.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack("!I", binascii.crc32(message))


def _stream(events: Iterable[tuple[str, Any]]) -> Response:
    return Response(200, content_type=_STREAM_TYPE,
                    chunks=(event_message(kind, payload) for kind, payload in events))


def _model(req: SimRequest) -> str:
    return check_model(base_model_id(unquote(req.match.group("model"))), _error)


def _out(value: Any, default: int = 16) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
        else default


def _converse_parts(req: SimRequest) -> tuple[str, int, int]:
    body = req.json()
    model = _model(req)
    inp = count_tokens(text_of(body.get("messages")) + text_of(body.get("system")))
    return model, inp, _out((body.get("inferenceConfig") or {}).get("maxTokens"))


def _usage(inp: int, out: int) -> dict[str, int]:
    return {"inputTokens": inp, "outputTokens": out, "totalTokens": inp + out}


def _converse(req: SimRequest) -> Response:
    _model_id, inp, out = _converse_parts(req)
    return json_response({
        "output": {"message": {"role": "assistant", "content": [{"text": WORD * out}]}},
        "stopReason": "max_tokens", "usage": _usage(inp, out), "metrics": {"latencyMs": 42}})


def _converse_stream(req: SimRequest) -> Response:
    _model_id, inp, out = _converse_parts(req)
    events: list[tuple[str, Any]] = [("messageStart", {"role": "assistant"})]
    events += [("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": WORD * n}})
               for n in chunk_sizes(out)]
    events += [("contentBlockStop", {"contentBlockIndex": 0}),
               ("messageStop", {"stopReason": "max_tokens"}),
               ("metadata", {"usage": _usage(inp, out), "metrics": {"latencyMs": 42}})]
    return _stream(events)


def _family(model: str) -> str:
    for prefix in ("anthropic.", "meta.", "amazon.nova", "amazon.titan-embed", "amazon.titan",
                   "mistral.", "cohere."):
        if model.startswith(prefix):
            return prefix.rstrip(".")
    raise Reply(json_response({"message": f"simulator: no body format for {model}"}, 400,
                              headers={"x-amzn-ErrorType": "ValidationException"}))


def _invoke_parts(req: SimRequest) -> tuple[str, int, int]:
    body = req.json()
    model = _model(req)
    family = _family(model)
    if family == "anthropic":
        inp = count_tokens(text_of(body.get("messages")) + text_of(body.get("system")))
        return family, inp, _out(body.get("max_tokens"))
    if family == "amazon.nova":
        return family, count_tokens(text_of(body.get("messages"))), _out(
            (body.get("inferenceConfig") or {}).get("maxTokens"))
    if family.startswith("amazon.titan"):
        config = body.get("textGenerationConfig") or {}
        out = 0 if family == "amazon.titan-embed" else _out(config.get("maxTokenCount"))
        return family, count_tokens(str(body.get("inputText") or "")), out
    text = str(body.get("prompt") or body.get("message") or "")
    return family, count_tokens(text), _out(body.get("max_gen_len") or body.get("max_tokens"))


def _invoke_body(family: str, inp: int, out: int) -> dict[str, Any]:
    text = WORD * out
    if family == "anthropic":
        return {"id": "msg_bdrk_sim", "type": "message", "role": "assistant",
                "content": [{"type": "text", "text": text}], "stop_reason": "max_tokens",
                "usage": {"input_tokens": inp, "output_tokens": out}}
    if family == "meta":
        return {"generation": text, "prompt_token_count": inp, "generation_token_count": out,
                "stop_reason": "length"}
    if family == "amazon.nova":
        return {"output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": "max_tokens", "usage": _usage(inp, out)}
    if family == "amazon.titan-embed":
        return {"embedding": [0.1] * 8, "inputTextTokenCount": inp}
    if family == "amazon.titan":
        return {"inputTextTokenCount": inp, "results": [
            {"tokenCount": out, "outputText": text, "completionReason": "LENGTH"}]}
    if family == "mistral":
        return {"outputs": [{"text": text, "stop_reason": "length"}]}
    return {"text": text, "finish_reason": "MAX_TOKENS"}  # cohere command-r


def _token_headers(req: SimRequest, inp: int, out: int) -> dict[str, str]:
    if "x-sim-omit-token-headers" in req.headers:
        return {}
    return {"X-Amzn-Bedrock-Input-Token-Count": str(inp),
            "X-Amzn-Bedrock-Output-Token-Count": str(out),
            "X-Amzn-Bedrock-Invocation-Latency": "42"}


def _invoke(req: SimRequest) -> Response:
    family, inp, out = _invoke_parts(req)
    return json_response(_invoke_body(family, inp, out), headers=_token_headers(req, inp, out))


def _chunk(obj: dict[str, Any]) -> tuple[str, Any]:
    return "chunk", {"bytes": base64.b64encode(json.dumps(obj).encode()).decode()}


def _invoke_chunks(family: str, inp: int, out: int) -> list[dict[str, Any]]:
    sizes = chunk_sizes(out)
    if family == "anthropic":
        return [{"type": "message_start", "message": {
                    "id": "msg_bdrk_sim", "type": "message", "role": "assistant", "content": [],
                    "usage": {"input_tokens": inp, "output_tokens": 1}}},
                *({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": WORD * n}} for n in sizes),
                {"type": "message_delta", "delta": {"stop_reason": "max_tokens"},
                 "usage": {"output_tokens": out}},
                {"type": "message_stop"}]
    if family == "meta":
        done, chunks = 0, []
        for i, n in enumerate(sizes):
            done += n
            chunks.append({"generation": WORD * n, "prompt_token_count": inp if i == 0 else None,
                           "generation_token_count": done, "stop_reason": None})
        return [*chunks, {"generation": "", "prompt_token_count": None,
                          "generation_token_count": done, "stop_reason": "length"}]
    if family == "amazon.nova":
        return [{"messageStart": {"role": "assistant"}},
                *({"contentBlockDelta": {"delta": {"text": WORD * n}, "contentBlockIndex": 0}}
                  for n in sizes),
                {"contentBlockStop": {"contentBlockIndex": 0}},
                {"messageStop": {"stopReason": "max_tokens"}},
                {"metadata": {"usage": {"inputTokens": inp, "outputTokens": out}}}]
    return [{"outputs": [{"text": WORD * n, "stop_reason": None}]} for n in sizes]


def _invoke_stream(req: SimRequest) -> Response:
    family, inp, out = _invoke_parts(req)
    chunks = _invoke_chunks(family, inp, out)
    if chunks and "x-sim-omit-token-headers" not in req.headers:
        chunks[-1] = {**chunks[-1], "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": inp, "outputTokenCount": out, "invocationLatency": 42,
            "firstByteLatency": 7}}
    return _stream(_chunk(c) for c in chunks)


def register(sim: Simulator) -> None:
    """Add the Bedrock Runtime routes (point ``boto3.client(..., endpoint_url=sim.url)``)."""
    model = r"/model/(?P<model>[^/]+)"
    sim.route("POST", model + "/converse")(_converse)
    sim.route("POST", model + "/converse-stream")(_converse_stream)
    sim.route("POST", model + "/invoke")(_invoke)
    sim.route("POST", model + "/invoke-with-response-stream")(_invoke_stream)
