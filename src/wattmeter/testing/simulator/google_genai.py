"""Google's Gemini Developer API and Vertex AI (express mode) wire, simulated for google-genai.

Routes take any API version prefix (``/v1``, ``/v1beta``, ``/v1beta1``) and any resource
path ending in ``models/<model>`` (``models/gemini-2.5-flash``,
``publishers/google/models/veo-3.0-generate-001``, ``projects/p/locations/l/...``):
``:generateContent``, ``:streamGenerateContent?alt=sse``, ``:embedContent``,
``:batchEmbedContents``, ``:predict`` (Imagen images, or Vertex text embeddings),
``:predictLongRunning`` (Veo videos), and the operation polls (``GET .../operations/<id>``
and Vertex's ``:fetchPredictOperation``), which report ``done`` on the second poll.
JSON is camelCase as on the wire. Usage is deterministic: ``promptTokenCount`` about 4
characters of prompt text each, ``candidatesTokenCount`` ``maxOutputTokens`` or 16,
``thoughtsTokenCount`` the request's ``thinkingBudget`` when positive, and half the prompt
cached when ``cachedContent`` is named. A request declaring functions is answered with a
``functionCall`` of the first one (1 output token) until it carries a function response,
so automatic function calling makes two requests. Embedding models whose name contains
``no-usage`` answer without usage metadata.
"""

from __future__ import annotations

import base64
import itertools
import threading
from typing import Any

from ._server import (
    WORD,
    Response,
    SimRequest,
    Simulator,
    check_model,
    chunk_sizes,
    count_tokens,
    json_response,
    sse_response,
    text_of,
)

__all__ = ["register"]

_VERSION = r"/v1[a-z0-9]*"
_MODEL = r"(?P<resource>(?:[^:]*/)?models/(?P<model>[^/:]+))"
_PNG_1X1 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAAB"
            "JRU5ErkJggg==")
_VIDEO = base64.b64encode(b"\x00\x00\x00\x18ftypmp42wattmeter-sim").decode()
_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
           429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def _error(status: int, model: str) -> Response:
    return json_response({"error": {"code": status,
                                    "message": f"simulated error {status} for model {model}",
                                    "status": _STATUS.get(status, "UNKNOWN")}}, status)


def _usage(body: dict[str, Any], output: int) -> dict[str, int]:
    prompt = count_tokens(" ".join((text_of(body.get("contents")),
                                    text_of(body.get("systemInstruction")))).strip())
    config = body.get("generationConfig") or {}
    thinking = config.get("thinkingConfig") or {}
    # The SDK sends this nested config in its Python spelling; the REST docs use camelCase.
    budget = thinking.get("thinkingBudget") or thinking.get("thinking_budget") or 0
    thoughts = budget if isinstance(budget, int) and budget > 0 else 0
    usage = {"promptTokenCount": prompt, "candidatesTokenCount": output,
             "totalTokenCount": prompt + output + thoughts}
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if body.get("cachedContent"):
        usage["cachedContentTokenCount"] = prompt // 2
    return usage


def _output_tokens(body: dict[str, Any]) -> int:
    n = (body.get("generationConfig") or {}).get("maxOutputTokens")
    return n if isinstance(n, int) and n > 0 else 16


def _function_call(body: dict[str, Any]) -> str | None:
    """The first declared function's name, until the request carries a function response."""
    contents = body.get("contents") or []
    last = contents[-1] if contents else {}
    if any("functionResponse" in p or "function_response" in p for p in last.get("parts") or []):
        return None
    for tool in body.get("tools") or []:
        for decl in tool.get("functionDeclarations") or tool.get("function_declarations") or []:
            return str(decl.get("name"))
    return None


def _candidate(text: str, finish: str | None) -> dict[str, Any]:
    cand: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    return cand


def register(sim: Simulator) -> None:
    """Add the Gemini / Vertex routes to `sim`."""
    polls: dict[str, int] = {}
    ids = itertools.count(1)
    lock = threading.Lock()

    @sim.route("POST", _VERSION + "/" + _MODEL + r":generateContent")
    def generate(req: SimRequest) -> Response:
        model = check_model(req.match["model"], _error)
        body = req.json()
        out = _output_tokens(body)
        call = _function_call(body)
        if call is not None:
            return json_response({"candidates": [{"content": {"parts": [
                {"functionCall": {"name": call, "args": {}}}], "role": "model"},
                "finishReason": "STOP", "index": 0}], "usageMetadata": _usage(body, 1),
                "modelVersion": model, "responseId": f"sim-{next(ids)}"})
        return json_response({"candidates": [_candidate(WORD * out, "STOP")],
                              "usageMetadata": _usage(body, out), "modelVersion": model,
                              "responseId": f"sim-{next(ids)}"})

    @sim.route("POST", _VERSION + "/" + _MODEL + r":streamGenerateContent")
    def stream(req: SimRequest) -> Response:
        model = check_model(req.match["model"], _error)
        body = req.json()
        out = _output_tokens(body)
        usage = _usage(body, out)
        rid = f"sim-{next(ids)}"
        sizes = chunk_sizes(out)
        events: list[tuple[str | None, Any]] = []
        for i, n in enumerate(sizes):
            last = i == len(sizes) - 1
            # As on the real wire: the prompt count on every chunk, the full counts on the last.
            events.append((None, {
                "candidates": [_candidate(WORD * n, "STOP" if last else None)],
                "usageMetadata": usage if last else {
                    "promptTokenCount": usage["promptTokenCount"],
                    "totalTokenCount": usage["promptTokenCount"]},
                "modelVersion": model, "responseId": rid}))
        return sse_response(events)

    def _embed_usage(model: str, texts: list[str]) -> dict[str, Any]:
        if "no-usage" in model:
            return {}
        n = sum(count_tokens(t) for t in texts)
        return {"usageMetadata": {"promptTokenCount": n, "totalTokenCount": n}}

    @sim.route("POST", _VERSION + "/" + _MODEL + r":batchEmbedContents")
    def batch_embed(req: SimRequest) -> Response:
        model = check_model(req.match["model"], _error)
        texts = [text_of(r.get("content")) for r in req.json().get("requests") or []]
        return json_response({"embeddings": [{"values": [0.1, 0.2, 0.3]} for _ in texts],
                              **_embed_usage(model, texts)})

    @sim.route("POST", _VERSION + "/" + _MODEL + r":embedContent")
    def embed(req: SimRequest) -> Response:
        model = check_model(req.match["model"], _error)
        text = text_of(req.json().get("content"))
        return json_response({"embedding": {"values": [0.1, 0.2, 0.3]},
                              **_embed_usage(model, [text])})

    @sim.route("POST", _VERSION + "/" + _MODEL + r":predict")
    def predict(req: SimRequest) -> Response:
        check_model(req.match["model"], _error)
        body = req.json()
        instances = body.get("instances") or [{}]
        if "content" in instances[0]:  # Vertex text embeddings
            preds = [{"embeddings": {"values": [0.1, 0.2, 0.3], "statistics": {
                "token_count": count_tokens(text_of(i.get("content"))), "truncated": False}}}
                for i in instances]
            return json_response({"predictions": preds, "metadata": {
                "billableCharacterCount": sum(len(text_of(i.get("content"))) for i in instances)}})
        n = (body.get("parameters") or {}).get("sampleCount") or 4
        return json_response({"predictions": [
            {"bytesBase64Encoded": _PNG_1X1, "mimeType": "image/png"} for _ in range(int(n))]})

    @sim.route("POST", _VERSION + "/" + _MODEL + r":predictLongRunning")
    def predict_long(req: SimRequest) -> Response:
        check_model(req.match["model"], _error)
        n = (req.json().get("parameters") or {}).get("sampleCount") or 1
        name = f"{req.match['resource']}/operations/sim-{next(ids)}-n{int(n)}"
        with lock:
            polls[name] = 0
        return json_response({"name": name})

    def _operation(name: str) -> Response:
        with lock:
            if name not in polls:
                return _error(404, name)
            polls[name] += 1
            done = polls[name] >= 2
            if done:
                del polls[name]
        if not done:
            return json_response({"name": name, "done": False})
        count = int(name.rsplit("-n", 1)[1]) if "-n" in name else 1
        videos = [{"bytesBase64Encoded": _VIDEO, "mimeType": "video/mp4"} for _ in range(count)]
        return json_response({"name": name, "done": True, "response": {
            "@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
            "videos": videos, "raiMediaFilteredCount": 0,
            "generateVideoResponse": {"generatedSamples": [
                {"video": {"uri": f"sim://video/{i}"}} for i in range(count)]}}})

    @sim.route("POST", _VERSION + "/" + _MODEL + r":fetchPredictOperation")
    def fetch_operation(req: SimRequest) -> Response:
        return _operation(str(req.json().get("operationName", "")))

    @sim.route("GET", _VERSION + r"/(?P<name>.+/operations/[^/]+)")
    def get_operation(req: SimRequest) -> Response:
        return _operation(req.match["name"])
