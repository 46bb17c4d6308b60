"""OpenAI's HTTP API, simulated: chat completions, responses, completions, embeddings,
images, audio — JSON bodies and SSE streams shaped like OpenAI's published API reference.

Routes accept the plain ``/v1`` prefix, Azure's ``/openai/deployments/<name>`` and
``/openai/v1`` prefixes, so `AzureOpenAI` and any OpenAI-compatible client can use them.
Usage is deterministic (see the package docstring): prompt tokens are about 4 characters
of message text each, completion tokens ``max_tokens`` / ``max_completion_tokens`` /
``max_output_tokens`` or 16; reasoning models (``o1``, ``o3``, ``gpt-5``...) spend half of
their output tokens reasoning; prompts of 1024 tokens or more report cached tokens in
128-token steps, as OpenAI's prompt caching does.
"""

from __future__ import annotations

import base64
import time
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from ._server import (
    WORD,
    Response,
    SimRequest,
    Simulator,
    bytes_response,
    check_model,
    count_tokens,
    json_response,
    sse_response,
    text_of,
)

__all__ = ["AUDIO_BYTES_PER_SECOND", "PNG_1X1", "register"]

#: Prefixes in front of the OpenAI paths: OpenAI itself, Azure deployments, Azure v1.
_PREFIX = r"(?:/v1|/openai/deployments/(?P<deployment>[^/]+)|/openai/v1|/openai)?"

#: A 1x1 transparent PNG: what image endpoints return, base64-encoded.
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
#: Audio bytes per second the simulator assumes for uploaded files (128 kbit/s MP3).
AUDIO_BYTES_PER_SECOND = 16_000


def _error(status: int, model: str) -> Response:
    kinds = {429: ("rate_limit_exceeded", "requests"), 400: ("invalid_request_error", None),
             401: ("invalid_api_key", None), 404: ("model_not_found", None)}
    code, _ = kinds.get(status, ("server_error", None))
    return json_response({"error": {"message": f"simulated error {status} for model {model}",
                                    "type": code, "param": None, "code": code}}, status)


def _form(req: SimRequest) -> dict[str, Any]:
    """Fields of a multipart/form-data body (files as bytes), or the JSON body."""
    ctype = req.headers.get("content-type", "")
    if not ctype.startswith("multipart/"):
        body = req.json()
        return body if isinstance(body, dict) else {}
    msg = BytesParser(policy=HTTP).parsebytes(
        b"content-type: " + ctype.encode() + b"\r\n\r\n" + req.body)
    fields: dict[str, Any] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        raw = part.get_payload(decode=True)
        payload = raw if isinstance(raw, bytes) else b""
        value: Any = payload if part.get_filename() else payload.decode("utf-8", "replace")
        key = name[:-2] if name.endswith("[]") else name
        if key in fields and name.endswith("[]"):
            prev = fields[key]
            fields[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            fields[key] = value
    return fields


def _model(body: dict[str, Any], req: SimRequest) -> str:
    deployment = req.match.groupdict().get("deployment")
    return str(body.get("model") or deployment or "gpt-4o-mini")


def _out_tokens(body: dict[str, Any]) -> int:
    for key in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = body.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return 16


def _is_reasoning(model: str) -> bool:
    return (len(model) > 1 and model[0] == "o" and model[1].isdigit()) or model.startswith("gpt-5")


def _tokens(model: str, prompt_text: str, body: dict[str, Any]) -> tuple[int, int, int, int]:
    """(input, cached input, output, reasoning) tokens for a request."""
    inp = count_tokens(prompt_text)
    cached = (inp // 128) * 128 if inp >= 1024 else 0
    out = _out_tokens(body)
    reasoning = out // 2 if _is_reasoning(model) else 0
    return inp, cached, out, reasoning


def _chat_usage(inp: int, cached: int, out: int, reasoning: int) -> dict[str, Any]:
    return {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0}}


def _usage_slot(body: dict[str, Any]) -> dict[str, Any]:
    """``{"usage": None}`` for every chunk when the stream asked for usage, else nothing."""
    return {"usage": None} if (body.get("stream_options") or {}).get("include_usage") else {}


def _end_stream(events: list[tuple[str | None, Any]], base: dict[str, Any],
                usage: dict[str, Any], extra: dict[str, Any]) -> Response:
    """The stream so far, then a usage-only chunk (when asked for) and ``[DONE]``."""
    if extra:
        events.append((None, {**base, "choices": [], "usage": usage}))
    events.append((None, "[DONE]"))
    return sse_response(events)


def _chat(req: SimRequest) -> Response:
    body = req.json()
    model = check_model(_model(body, req), _error)
    inp, cached, out, reasoning = _tokens(model, text_of(body.get("messages")), body)
    visible = max(out - reasoning, 1)
    n = int(body.get("n") or 1)
    created = int(time.time())
    cid = f"chatcmpl-sim{created}"
    usage = _chat_usage(inp, cached, out, reasoning)
    if not body.get("stream"):
        finish = "length" if body.get("max_tokens") or body.get("max_completion_tokens") \
            else "stop"
        choices: list[dict[str, Any]] = [
            {"index": i, "finish_reason": finish, "logprobs": None,
             "message": {"role": "assistant", "content": WORD * visible, "refusal": None,
                         "annotations": []}} for i in range(n)]
        return json_response({"id": cid, "object": "chat.completion", "created": created,
                              "model": model, "choices": choices, "usage": usage,
                              "service_tier": "default", "system_fingerprint": "fp_sim"})
    base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "service_tier": "default", "system_fingerprint": "fp_sim"}
    extra = _usage_slot(body)

    def chunk(choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {**base, "choices": choices, **extra}

    events: list[tuple[str | None, Any]] = []
    for i in range(n):
        events.append((None, chunk([{"index": i, "delta": {"role": "assistant", "content": "",
                                                             "refusal": None},
                                      "logprobs": None, "finish_reason": None}])))
    for _ in range(visible):
        for i in range(n):
            events.append((None, chunk([{"index": i, "delta": {"content": WORD},
                                          "logprobs": None, "finish_reason": None}])))
    for i in range(n):
        events.append((None, chunk([{"index": i, "delta": {}, "logprobs": None,
                                      "finish_reason": "stop"}])))
    return _end_stream(events, base, usage, extra)


def _completions(req: SimRequest) -> Response:
    body = req.json()
    model = check_model(_model(body, req), _error)
    prompt = body.get("prompt")
    inp, _cached, out, _ = _tokens(model, text_of(prompt), body)
    created = int(time.time())
    usage = {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out}
    base = {"id": f"cmpl-sim{created}", "object": "text_completion", "created": created,
            "model": model, "system_fingerprint": "fp_sim"}
    if not body.get("stream"):
        return json_response({**base, "usage": usage, "choices": [
            {"index": 0, "text": WORD * out, "logprobs": None, "finish_reason": "length"}]})
    extra = _usage_slot(body)
    events: list[tuple[str | None, Any]] = [
        (None, {**base, **extra, "choices": [{"index": 0, "text": WORD, "logprobs": None,
                                              "finish_reason": None}]}) for _ in range(out)]
    return _end_stream(events, base, usage, extra)


def _embeddings(req: SimRequest) -> Response:
    body = req.json()
    model = check_model(_model(body, req), _error)
    raw = body.get("input")
    items = raw if isinstance(raw, list) and raw and not isinstance(raw[0], int) else [raw]
    dims = int(body.get("dimensions") or 8)
    total = 0
    data = []
    for i, item in enumerate(items):
        total += len(item) if isinstance(item, list) else count_tokens(text_of(item))
        vector = [round(((i + 1) * (j + 1)) % 7 / 7, 4) for j in range(dims)]
        if body.get("encoding_format") == "base64":
            import struct

            emb: Any = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
        else:
            emb = vector
        data.append({"object": "embedding", "index": i, "embedding": emb})
    return json_response({"object": "list", "data": data, "model": model,
                          "usage": {"prompt_tokens": total, "total_tokens": total}})


def _response_usage(inp: int, cached: int, out: int, reasoning: int) -> dict[str, Any]:
    return {"input_tokens": inp, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": out, "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": inp + out}


def _responses(req: SimRequest) -> Response:
    body = req.json()
    model = check_model(_model(body, req), _error)
    prompt = text_of(body.get("input")) + " " + text_of(body.get("instructions"))
    inp, cached, out, reasoning = _tokens(model, prompt.strip(), body)
    visible = max(out - reasoning, 1)
    created = int(time.time())
    rid, mid = f"resp_sim{created}", f"msg_sim{created}"
    text = WORD * visible
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    item = {"type": "message", "id": mid, "status": "completed", "role": "assistant",
            "content": [part]}
    resp: dict[str, Any] = {
        "id": rid, "object": "response", "created_at": created, "status": "completed",
        "model": model, "output": [item], "parallel_tool_calls": True, "tool_choice": "auto",
        "tools": [], "error": None, "incomplete_details": None, "instructions": None,
        "metadata": {}, "temperature": 1.0, "top_p": 1.0, "text": {"format": {"type": "text"}},
        "max_output_tokens": body.get("max_output_tokens"), "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None}, "truncation": "disabled",
        "usage": _response_usage(inp, cached, out, reasoning),
    }
    if not body.get("stream"):
        return json_response(resp)
    seq = iter(range(1_000_000))
    start = {**resp, "status": "in_progress", "output": [], "usage": None}
    events: list[tuple[str | None, Any]] = []

    def ev(kind: str, **fields: Any) -> None:
        events.append((kind, {"type": kind, "sequence_number": next(seq), **fields}))

    ev("response.created", response=start)
    ev("response.in_progress", response=start)
    ev("response.output_item.added", output_index=0,
       item={**item, "status": "in_progress", "content": []})
    ev("response.content_part.added", item_id=mid, output_index=0, content_index=0,
       part={**part, "text": ""})
    for _ in range(visible):
        ev("response.output_text.delta", item_id=mid, output_index=0, content_index=0,
           delta=WORD, logprobs=[])
    ev("response.output_text.done", item_id=mid, output_index=0, content_index=0, text=text,
       logprobs=[])
    ev("response.content_part.done", item_id=mid, output_index=0, content_index=0, part=part)
    ev("response.output_item.done", output_index=0, item=item)
    ev("response.completed", response=resp)
    return sse_response(events)


def _images(req: SimRequest) -> Response:
    body = _form(req)
    model = check_model(str(body.get("model") or req.match.groupdict().get("deployment")
                            or "dall-e-2"), _error)
    n = int(body.get("n") or 1)
    size = str(body.get("size") or "1024x1024")
    b64 = base64.b64encode(PNG_1X1).decode()
    as_url = body.get("response_format") == "url"
    data = [{"url": f"http://127.0.0.1/sim/image{i}.png"} if as_url else {"b64_json": b64}
            for i in range(n)]
    out: dict[str, Any] = {"created": int(time.time()), "data": data}
    if model.startswith("gpt-image"):
        text_tokens = count_tokens(str(body.get("prompt") or ""))
        per_image = {"1024x1024": 1056, "1024x1536": 1584, "1536x1024": 1568}.get(size, 1056)
        out.update(size=size if size != "auto" else "1024x1024", quality="medium",
                   output_format="png", background="opaque",
                   usage={"input_tokens": text_tokens,
                          "input_tokens_details": {"text_tokens": text_tokens,
                                                   "image_tokens": 0},
                          "output_tokens": per_image * n,
                          "total_tokens": text_tokens + per_image * n})
    return json_response(out)


def _speech(req: SimRequest) -> Response:
    body = req.json()
    check_model(str(body.get("model") or "tts-1"), _error)
    # About 15 characters of text per second of speech; the bytes stand in for MP3 audio.
    seconds = max(len(str(body.get("input") or "")) / 15, 0.1)
    fmt = str(body.get("response_format") or "mp3")
    ctype = {"mp3": "audio/mpeg", "wav": "audio/wav", "opus": "audio/opus",
             "aac": "audio/aac", "flac": "audio/flac", "pcm": "audio/pcm"}.get(fmt, "audio/mpeg")
    return bytes_response(b"\xff\xfb" + b"\x00" * int(seconds * 100), ctype)


def _audio_text(req: SimRequest) -> Response:
    body = _form(req)
    model = check_model(str(body.get("model") or "whisper-1"), _error)
    file = body.get("file")
    size = len(file) if isinstance(file, (bytes, bytearray)) else 0
    seconds = round(max(size / AUDIO_BYTES_PER_SECOND, 0.1), 3)
    text = "simulated transcript"
    fmt = str(body.get("response_format") or "json")
    translate = req.path.endswith("translations")
    if fmt in ("text", "srt", "vtt"):
        return Response(200, text.encode(), content_type="text/plain")
    if fmt == "verbose_json":
        return json_response({"task": "translate" if translate else "transcribe",
                              "language": "english", "duration": seconds, "text": text,
                              "segments": [], "words": []})
    out: dict[str, Any] = {"text": text}
    if not translate:
        if model.startswith("gpt-4o"):
            out_tokens = count_tokens(text)
            audio_tokens = int(seconds * 10) + 1
            out["usage"] = {"type": "tokens", "input_tokens": audio_tokens,
                            "input_token_details": {"audio_tokens": audio_tokens,
                                                    "text_tokens": 0},
                            "output_tokens": out_tokens,
                            "total_tokens": audio_tokens + out_tokens}
        else:
            out["usage"] = {"type": "duration", "seconds": seconds}
    return json_response(out)


def register(sim: Simulator) -> None:
    """Add OpenAI's routes (with Azure and OpenAI-compatible prefixes) to `sim`."""
    for path, handler in (
        ("/chat/completions", _chat),
        ("/completions", _completions),
        ("/embeddings", _embeddings),
        ("/responses", _responses),
        ("/images/generations", _images),
        ("/images/edits", _images),
        ("/images/variations", _images),
        ("/audio/speech", _speech),
        ("/audio/transcriptions", _audio_text),
        ("/audio/translations", _audio_text),
    ):
        sim.route("POST", _PREFIX + path)(handler)
