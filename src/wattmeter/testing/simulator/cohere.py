"""Cohere's HTTP API, simulated for the `cohere` SDK: v2 chat (JSON, or SSE events
``message-start`` ... ``content-delta`` ... ``message-end`` with usage) and embed, and the
v1 chat (JSON, or newline-delimited JSON events ending in ``stream-end``) and embed.

Point the client at ``sim.url`` (``cohere.ClientV2(base_url=...)``). Usage is
deterministic: billed input tokens about 4 characters of message text each, billed output
tokens ``max_tokens`` or 16; ``usage.tokens`` (what the model processed) adds
`TEMPLATE_TOKENS` of prompt template to the input, as Cohere's own responses do.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
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

__all__ = ["TEMPLATE_TOKENS", "register"]

#: Prompt-template tokens the model sees beyond the billed input (a fixed simulated number).
TEMPLATE_TOKENS = 7


def _error(status: int, model: str) -> Response:
    return json_response({"id": "sim-error",
                          "message": f"simulated error {status} for model {model}"}, status)


def _counts(prompt_text: str, body: dict[str, Any]) -> tuple[int, int]:
    n = body.get("max_tokens")
    return count_tokens(prompt_text), (n if isinstance(n, int) and n > 0 else 16)


def _usage(billed_in: int, out: int) -> dict[str, Any]:
    return {"billed_units": {"input_tokens": billed_in, "output_tokens": out},
            "tokens": {"input_tokens": billed_in + TEMPLATE_TOKENS, "output_tokens": out}}


def register(sim: Simulator) -> None:
    """Add the Cohere v1 and v2 routes to `sim`."""
    ids = itertools.count(1)

    @sim.route("POST", r"/v2/chat")
    def chat_v2(req: SimRequest) -> Response:
        body = req.json()
        check_model(str(body.get("model", "unknown")), _error)
        billed_in, out = _counts(text_of(body.get("messages")), body)
        usage = _usage(billed_in, out)
        cid = f"sim-{next(ids)}"
        if not body.get("stream"):
            return json_response({
                "id": cid, "finish_reason": "COMPLETE", "usage": usage,
                "message": {"role": "assistant",
                            "content": [{"type": "text", "text": WORD * out}]}})
        events: list[tuple[str | None, Any]] = [
            ("message-start", {"type": "message-start", "id": cid, "delta": {"message": {
                "role": "assistant", "content": [], "tool_plan": "", "tool_calls": [],
                "citations": []}}}),
            ("content-start", {"type": "content-start", "index": 0, "delta": {"message": {
                "content": {"type": "text", "text": ""}}}}),
        ]
        events += [("content-delta", {"type": "content-delta", "index": 0, "delta": {
            "message": {"content": {"text": WORD * k}}}}) for k in chunk_sizes(out)]
        events += [("content-end", {"type": "content-end", "index": 0}),
                   ("message-end", {"type": "message-end", "id": cid, "delta": {
                       "finish_reason": "COMPLETE", "usage": usage}})]
        return sse_response(events)

    def _embed(req: SimRequest, version: str) -> Response:
        body = req.json()
        check_model(str(body.get("model", "unknown")), _error)
        texts = [str(t) for t in body.get("texts") or []]
        n = sum(count_tokens(t) for t in texts)
        vectors = [[0.1, 0.2, 0.3] for _ in texts]
        meta = {"api_version": {"version": version}, "billed_units": {"input_tokens": n}}
        if version == "2" or body.get("embedding_types"):
            return json_response({"id": f"sim-{next(ids)}", "texts": texts, "meta": meta,
                                  "embeddings": {"float": vectors},
                                  "response_type": "embeddings_by_type"})
        return json_response({"id": f"sim-{next(ids)}", "texts": texts, "meta": meta,
                              "embeddings": vectors, "response_type": "embeddings_floats"})

    @sim.route("POST", r"/v2/embed")
    def embed_v2(req: SimRequest) -> Response:
        return _embed(req, "2")

    @sim.route("POST", r"/v1/embed")
    def embed_v1(req: SimRequest) -> Response:
        return _embed(req, "1")

    @sim.route("POST", r"/v1/chat")
    def chat_v1(req: SimRequest) -> Response:
        body = req.json()
        check_model(str(body.get("model") or "command-r-plus"), _error)
        prompt = " ".join((text_of(body.get("chat_history")), str(body.get("message") or "")))
        billed_in, out = _counts(prompt.strip(), body)
        usage = _usage(billed_in, out)
        gid = f"sim-{next(ids)}"
        final = {"text": WORD * out, "generation_id": gid, "response_id": gid,
                 "finish_reason": "COMPLETE", "chat_history": [],
                 "meta": {"api_version": {"version": "1"}, **usage}}
        if not body.get("stream"):
            return json_response(final)

        def lines() -> Iterator[bytes]:
            yield _line({"is_finished": False, "event_type": "stream-start",
                         "generation_id": gid})
            for k in chunk_sizes(out):
                yield _line({"is_finished": False, "event_type": "text-generation",
                             "text": WORD * k})
            yield _line({"is_finished": True, "event_type": "stream-end",
                         "finish_reason": "COMPLETE", "response": final})

        return Response(200, content_type="application/stream+json", chunks=lines())


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode() + b"\n"
