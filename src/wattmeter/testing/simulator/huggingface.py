"""Hugging Face inference routes: TGI text generation and chat, embeddings, images, speech.

Point ``InferenceClient(model=sim.url + "/hf/models/<model id>")`` at the simulator: every
task posts to that URL (chat to ``.../v1/chat/completions``), the way a dedicated
Inference Endpoint or a TGI server is called; ``base_url=sim.url + "/hf"`` is a TGI
server's root (chat takes the model from the request body, else "tgi"). The task is read
off the request (audio bytes: speech recognition; ``Accept: image/png``: text to image; a
``stream`` key or TGI parameters: text generation; no ``parameters``: feature
extraction). Text to speech, like any task, can be named in the path:
``/hf/text-to-speech/models/<model id>``. Bodies follow TGI's and the HF Inference API's
published shapes.
"""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING, Any

from ._server import (
    Response,
    SimRequest,
    bytes_response,
    check_model,
    count_tokens,
    json_response,
    sse_response,
    text_of,
)

if TYPE_CHECKING:
    from ._server import Simulator

__all__ = ["png", "register", "wav"]

_TASKS = ("text-generation", "feature-extraction", "text-to-image", "text-to-speech",
          "automatic-speech-recognition", "conversational")
_DEFAULT_TOKENS = 16
_FINGERPRINT = "3.2.3-sha-simulator"
_MAX_SIDE = 4096


def _token(i: int) -> str:
    """The i-th generated token: four characters, so text length matches the token count."""
    return f" t{i % 100:02d}"


def _error(status: int, model: str) -> Response:
    kinds = {429: "overloaded", 503: "unavailable"}
    return json_response({"error": f"simulated error {status} for model {model}",
                          "error_type": kinds.get(status, "generation")}, status)


def png(width: int, height: int) -> bytes:
    """A valid grey PNG of the given size (8-bit greyscale, compressed zeros)."""
    width = max(1, min(_MAX_SIDE, width))
    height = max(1, min(_MAX_SIDE, height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = (b"\x00" + b"\x80" * width) * height
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def wav(seconds: float, rate: int = 8000) -> bytes:
    """A silent 8-bit mono WAV of `seconds` at `rate` samples per second."""
    frames = int(seconds * rate)
    header = b"RIFF" + struct.pack("<I", 36 + frames) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate, 1, 8)
    return header + fmt + b"data" + struct.pack("<I", frames) + b"\x80" * frames


def _chat(req: SimRequest) -> Response:
    body = req.json()
    groups = req.match.groupdict()
    model = groups.get("model") or body.get("model") or "tgi"
    if model == "dummy":
        model = "tgi"
    check_model(model, _error)
    prompt = count_tokens(text_of(body.get("messages")))
    n = int(body.get("max_tokens") or _DEFAULT_TOKENS)
    usage = {"prompt_tokens": prompt, "completion_tokens": n, "total_tokens": prompt + n}
    base = {"id": "chatcmpl-sim", "created": 1700000000, "model": model,
            "system_fingerprint": _FINGERPRINT}
    if not body.get("stream"):
        text = "".join(_token(i) for i in range(n))
        return json_response({**base, "object": "chat.completion", "choices": [{
            "index": 0, "message": {"role": "assistant", "content": text},
            "logprobs": None, "finish_reason": "length"}], "usage": usage})

    def events() -> Any:
        for i in range(n):
            yield None, {**base, "object": "chat.completion.chunk", "choices": [{
                "index": 0, "delta": {"role": "assistant", "content": _token(i)},
                "logprobs": None, "finish_reason": "length" if i == n - 1 else None}],
                "usage": None}
        if (body.get("stream_options") or {}).get("include_usage"):
            yield None, {**base, "object": "chat.completion.chunk", "choices": [],
                         "usage": usage}
        yield None, "[DONE]"

    return sse_response(events())


def _generate(body: dict[str, Any], model: str) -> Response:
    params = body.get("parameters") or {}
    inputs = body.get("inputs")
    prompt = count_tokens(inputs if isinstance(inputs, str) else "")
    n = int(params.get("max_new_tokens") or _DEFAULT_TOKENS)
    text = "".join(_token(i) for i in range(n))
    if not body.get("stream"):
        out: dict[str, Any] = {"generated_text": text}
        if params.get("details"):
            prefill = ([{"id": i, "text": "tok", "logprob": None} for i in range(prompt)]
                       if params.get("decoder_input_details") else [])
            out["details"] = {"finish_reason": "length", "generated_tokens": n, "seed": None,
                              "prefill": prefill, "tokens": [
                                  {"id": i, "text": _token(i), "logprob": -0.1, "special": False}
                                  for i in range(n)]}
        return json_response([out])

    def events() -> Any:
        for i in range(n):
            last = i == n - 1
            details = ({"finish_reason": "length", "generated_tokens": n,
                        "input_length": prompt, "seed": None}
                       if last and params.get("details") else None)
            yield None, {"index": i + 1, "token": {"id": i, "text": _token(i),
                                                   "logprob": -0.1, "special": False},
                         "generated_text": text if last else None, "details": details,
                         "top_tokens": None}

    return sse_response(events())


def _embed(body: dict[str, Any]) -> Response:
    inputs = body.get("inputs")
    texts = inputs if isinstance(inputs, list) else [inputs or ""]
    dims = int(body.get("dimensions") or 8)
    return json_response([[round(((len(str(t)) + j) % 7) / 7 - 0.5, 3) for j in range(dims)]
                          for t in texts])


def _image(body: dict[str, Any]) -> Response:
    params = body.get("parameters") or {}
    return bytes_response(png(int(params.get("width") or 1024),
                              int(params.get("height") or 1024)), "image/png")


def _speech(body: dict[str, Any]) -> Response:
    text = body.get("inputs") if isinstance(body.get("inputs"), str) else ""
    return bytes_response(wav(min(30.0, 0.05 * len(text or ""))), "audio/wav")


def _transcribe(req: SimRequest) -> Response:
    words = max(1, len(req.body) // 4000)
    return json_response({"text": " ".join(["simulated"] * words).capitalize() + ".",
                          "chunks": None})


def _task_of(req: SimRequest, body: Any) -> str:
    ctype = req.headers.get("content-type", "")
    if not ctype.startswith("application/json") or not isinstance(body, dict):
        return "automatic-speech-recognition"
    if "image/" in req.headers.get("accept", ""):
        return "text-to-image"
    if "stream" in body or "parameters" in body:
        return "text-generation"
    return "feature-extraction"


def _task(req: SimRequest) -> Response:
    groups = req.match.groupdict()
    model = groups.get("model") or "tgi"
    check_model(model, _error)
    body = req.json() if req.headers.get("content-type", "").startswith(
        "application/json") else None
    task = groups.get("task") or _task_of(req, body)
    body = body if isinstance(body, dict) else {}
    if task == "text-generation":
        return _generate(body, model)
    if task == "feature-extraction":
        return _embed(body)
    if task == "text-to-image":
        return _image(body)
    if task == "text-to-speech":
        return _speech(body)
    if task == "automatic-speech-recognition":
        return _transcribe(req)
    return json_response({"error": f"task {task} is not simulated"}, 400)


def register(sim: Simulator) -> None:
    """Add the Hugging Face routes under ``/hf``."""
    tasks = "|".join(_TASKS)
    sim.route("POST", rf"/hf/(?:(?:{tasks})/)?models/(?P<model>.+?)/v1/chat/completions")(_chat)
    sim.route("POST", r"/hf/v1/chat/completions")(_chat)
    sim.route("POST", rf"/hf/(?P<task>{tasks})/models/(?P<model>.+)")(_task)
    sim.route("POST", r"/hf/models/(?P<model>.+?)(?:/pipeline/(?P<task>[a-z-]+))?")(_task)
    sim.route("POST", r"/hf/?")(_task)  # a TGI server's root: the model is the one it serves
