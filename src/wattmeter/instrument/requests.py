"""Meter OpenAI-compatible endpoints called with plain `requests`, opt-in per base URL.

``requests.Session.send`` is wrapped; a request is metered only when it is a POST to one
of the configured ``requests_base_urls`` whose path ends in ``/chat/completions``,
``/completions`` or ``/embeddings``. Every other request costs one prefix check. Usage is
read from the ``usage`` block of the JSON response, found from the end of the body and
decoded alone, so a large response is not parsed twice; the model is read from the
response (else the request) by a bounded search, and nothing else of either body is read
or kept. Streamed requests (``stream=True``) pass through unmetered: their body is read by
user code later, chunk by chunk, outside this wrapper.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .. import _config
from .._guard import logger
from .._usage import Usage
from ._core import Endpoint, Request, wrapper_for
from ._patching import Patch, patch_method
from ._requests_common import add_openai_usage, provider_for_url
from ._server import server_for_url

__all__ = ["DISTRIBUTION", "SUPPORTED", "patch"]

DISTRIBUTION = "requests"
SUPPORTED = ("2.20", "3")

_OPERATIONS = (("/chat/completions", "chat"), ("/completions", "completion"),
               ("/embeddings", "embeddings"))
_MODEL = re.compile(rb'"model"\s*:\s*"([^"\\]{1,256})"')
_WINDOW = 4096  # bytes searched for the model at each end of a body
_USAGE = b'"usage"'
_DECODER = json.JSONDecoder()
_state: dict[str, tuple[str, ...]] = {"prefixes": ()}


def _refresh(cfg: _config.Config) -> None:
    _state["prefixes"] = tuple(u.rstrip("/") + "/" for u in cfg.requests_base_urls if u)


_config.on_change(_refresh)


def _as_bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8", "replace")
    return b""


def find_model(body: Any) -> str | None:
    """The first ``"model": "..."`` near either end of a JSON body (None if absent)."""
    data = _as_bytes(body)
    for part in (data[:_WINDOW], data[-_WINDOW:]) if len(data) > _WINDOW else (data,):
        m = _MODEL.search(part)
        if m:
            return m.group(1).decode("utf-8", "replace")
    return None


def find_usage(content: bytes) -> Any:
    """The top-level-looking ``"usage": {...}`` object nearest the end of a JSON body."""
    end = len(content)
    while True:
        i = content.rfind(_USAGE, 0, end)
        if i < 0:
            return None
        if i == 0 or content[i - 1:i] != b"\\":
            j = i + len(_USAGE)
            rest = content[j:j + 16].lstrip()
            if rest.startswith(b":"):
                text = content[j:].decode("utf-8", "replace").lstrip()[1:].lstrip()
                if text.startswith("{"):
                    try:
                        return _DECODER.raw_decode(text)[0]
                    except ValueError:
                        return None
        end = i


class _HTTPEndpoint(Endpoint):
    """One OpenAI-style path (chat, completion or embeddings) on a configured base URL."""

    def __init__(self, operation: str) -> None:
        self.operation = operation

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        prepared = args[0] if args else kwargs["request"]
        url = prepared.url
        model = find_model(prepared.body) or "unknown"
        return Request(provider_for_url(url), model, self.operation, kwargs,
                       server=server_for_url(url))

    def usage(self, response: Any, req: Request) -> Usage:
        usage = Usage(req.provider, req.model, req.operation)
        status = getattr(response, "status_code", 200)
        content = getattr(response, "_content", None)
        if not isinstance(content, bytes):
            content = b""
        if status >= 400:
            usage.outcome = "error"
        model = find_model(content)
        if model:
            usage.response_model = model
            if usage.model == "unknown":
                usage.model = model
        block = find_usage(content) if content else None
        if not add_openai_usage(usage, block) and status < 400:
            usage.warn("no usage block in the response: tokens unknown, counted as zero")
        return usage


_WRAPPERS = {op: wrapper_for(_HTTPEndpoint(op), False) for _, op in _OPERATIONS}


def _operation(url: str) -> str | None:
    path = url.partition("?")[0].rstrip("/")
    for suffix, op in _OPERATIONS:
        if path.endswith(suffix):
            return op
    return None


def _send(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    prefixes = _state["prefixes"]
    if prefixes:
        prepared = args[0] if args else kwargs.get("request")
        url = getattr(prepared, "url", None)
        if (isinstance(url, str) and url.startswith(prefixes)
                and prepared.method == "POST" and not kwargs.get("stream")):
            op = _operation(url)
            if op is not None:
                return _WRAPPERS[op](wrapped, instance, args, kwargs)
    return wrapped(*args, **kwargs)


def patch() -> list[Patch]:
    """Wrap ``requests.Session.send`` (the path of every requests API call)."""
    _refresh(_config.current())
    try:
        return [patch_method("requests.sessions", "Session.send", _HTTPEndpoint("chat"),
                             wrapper=_send)]
    except (ImportError, AttributeError, RuntimeError) as exc:
        logger.info("wattmeter: not metering requests.Session.send (%s: %s)",
                    type(exc).__name__, exc)
        return []
