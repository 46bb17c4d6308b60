"""Anthropic's Messages API, simulated: JSON messages, SSE streams, token counting, errors.

Shaped like Anthropic's published API reference. Streams send ``message_start`` (with
input usage), ``content_block_start``, ``ping``, one ``content_block_delta`` per output
token, ``content_block_stop``, ``message_delta`` (with the output usage) and
``message_stop``. Usage is deterministic: output tokens are ``max_tokens`` (or 16); when
the request carries any ``cache_control`` marker, the system prompt's tokens are reported
as half cache reads and half cache writes (``input_tokens`` then counts only the rest, as
Anthropic's does), so tests can check the cache arithmetic.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ._server import (
    WORD,
    Response,
    SimRequest,
    Simulator,
    check_model,
    count_tokens,
    json_response,
    sse_response,
    text_of,
)

__all__ = ["register"]

_ERRORS = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
           404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
           529: "overloaded_error"}


def _error(status: int, model: str) -> Response:
    kind = _ERRORS.get(status, "api_error")
    return json_response({"type": "error", "error": {
        "type": kind, "message": f"simulated error {status} for model {model}"}}, status,
        headers={"request-id": "req_sim"})


def _usage(body: dict[str, Any]) -> dict[str, Any]:
    system = count_tokens(text_of(body.get("system")))
    messages = count_tokens(text_of(body.get("messages")))
    if "cache_control" in json.dumps(body):
        read = system // 2
        written = system - read
        inp = messages
    else:
        read = written = 0
        inp = system + messages
    return {"input_tokens": inp, "cache_read_input_tokens": read,
            "cache_creation_input_tokens": written, "output_tokens": 0,
            "service_tier": "standard"}


def _messages(req: SimRequest) -> Response:
    body = req.json()
    model = check_model(str(body.get("model") or "claude-haiku-4-5"), _error)
    out = body.get("max_tokens")
    out = out if isinstance(out, int) and out > 0 else 16
    usage = _usage(body)
    mid = f"msg_sim{int(time.time())}"
    message: dict[str, Any] = {"id": mid, "type": "message", "role": "assistant",
                               "model": model, "content": [], "stop_reason": None,
                               "stop_sequence": None}
    if not body.get("stream"):
        return json_response({**message, "content": [{"type": "text", "text": WORD * out}],
                              "stop_reason": "max_tokens" if body.get("max_tokens") else
                              "end_turn", "usage": {**usage, "output_tokens": out}})
    events: list[tuple[str | None, Any]] = [
        ("message_start", {"type": "message_start",
                           "message": {**message, "usage": {**usage, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("ping", {"type": "ping"}),
    ]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": WORD}})
               for _ in range(out)]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
                           "usage": {"output_tokens": out}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return sse_response(events)


def _count_tokens(req: SimRequest) -> Response:
    body = req.json()
    usage = _usage(body)
    return json_response({"input_tokens": usage["input_tokens"] +
                          usage["cache_read_input_tokens"] +
                          usage["cache_creation_input_tokens"]})


def register(sim: Simulator) -> None:
    """Add Anthropic's routes to `sim`."""
    sim.route("POST", r"/v1/messages")(_messages)
    sim.route("POST", r"/v1/messages/count_tokens")(_count_tokens)
