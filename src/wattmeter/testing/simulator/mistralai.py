"""Mistral AI's HTTP API, simulated for the `mistralai` SDK: chat and FIM completions
(JSON, or SSE chunks ending in ``[DONE]`` with usage on the last chunk) and embeddings.

Point the client at ``sim.url + "/mistral"`` (``Mistral(server_url=...)``): Mistral's
paths are the same as OpenAI's, and at the bare ``sim.url`` the OpenAI routes answer,
which send no usage in streams unless asked. Usage is deterministic: prompt tokens about
4 characters of message text each, completion tokens ``max_tokens`` or 16, and half the
prompt reported as cached (``prompt_tokens_details.cached_tokens``) when the request
names a ``prompt_cache_key``.
"""

from __future__ import annotations

import itertools
import time
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

__all__ = ["PREFIX", "register"]

#: Path prefix of the Mistral routes on the simulator.
PREFIX = "/mistral"
_ERRORS = {429: "rate_limited", 401: "unauthorized", 400: "invalid_request"}


def _error(status: int, model: str) -> Response:
    return json_response({"object": "error",
                          "message": f"simulated error {status} for model {model}",
                          "type": _ERRORS.get(status, "internal_server_error"),
                          "param": None, "code": str(status)}, status)


def _usage(body: dict[str, Any], prompt_text: str, completion: int) -> dict[str, Any]:
    prompt = count_tokens(prompt_text)
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion,
                             "total_tokens": prompt + completion}
    if body.get("prompt_cache_key"):
        usage["prompt_tokens_details"] = {"cached_tokens": prompt // 2}
    return usage


def register(sim: Simulator) -> None:
    """Add the Mistral routes (under `PREFIX`) to `sim`."""
    ids = itertools.count(1)

    def complete(req: SimRequest, prompt_text: str, kind: str) -> Response:
        body = req.json()
        model = check_model(str(body.get("model", "unknown")), _error)
        n = body.get("max_tokens")
        out = n if isinstance(n, int) and n > 0 else 16
        usage = _usage(body, prompt_text, out)
        cid, created = f"{kind}-sim-{next(ids)}", int(time.time())
        if not body.get("stream"):
            return json_response({
                "id": cid, "object": "chat.completion", "model": model, "created": created,
                "usage": usage, "choices": [{"index": 0, "finish_reason": "stop", "message": {
                    "role": "assistant", "content": WORD * out, "tool_calls": None,
                    "prefix": False}}]})
        sizes = chunk_sizes(out)
        events: list[tuple[str | None, Any]] = [(None, {
            "id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                         "finish_reason": None}]})]
        for i, k in enumerate(sizes):
            last = i == len(sizes) - 1
            chunk: dict[str, Any] = {
                "id": cid, "object": "chat.completion.chunk", "created": created,
                "model": model, "choices": [{"index": 0, "delta": {"content": WORD * k},
                                             "finish_reason": "stop" if last else None}]}
            if last:
                chunk["usage"] = usage
            events.append((None, chunk))
        events.append((None, "[DONE]"))
        return sse_response(events)

    @sim.route("POST", PREFIX + r"/v1/chat/completions")
    def chat(req: SimRequest) -> Response:
        return complete(req, text_of(req.json().get("messages")), "chat")

    @sim.route("POST", PREFIX + r"/v1/fim/completions")
    def fim(req: SimRequest) -> Response:
        body = req.json()
        return complete(req, " ".join((str(body.get("prompt") or ""),
                                       str(body.get("suffix") or ""))).strip(), "fim")

    @sim.route("POST", PREFIX + r"/v1/embeddings")
    def embeddings(req: SimRequest) -> Response:
        body = req.json()
        model = check_model(str(body.get("model", "unknown")), _error)
        inputs = body.get("inputs") or body.get("input") or []
        texts = [inputs] if isinstance(inputs, str) else [str(t) for t in inputs]
        n = sum(count_tokens(t) for t in texts)
        return json_response({
            "id": f"embd-sim-{next(ids)}", "object": "list", "model": model,
            "data": [{"object": "embedding", "embedding": [0.1, 0.2, 0.3], "index": i}
                     for i in range(len(texts))],
            "usage": {"prompt_tokens": n, "completion_tokens": 0, "total_tokens": n}})
