"""A tiny threaded HTTP server that provider route modules plug into.

It speaks just enough HTTP for the real client libraries: JSON bodies, server-sent
events (streamed chunk by chunk), binary bodies, and provider-shaped errors. It binds
to loopback and never calls out.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "FAULTS",
    "WORD",
    "Fault",
    "Reply",
    "Response",
    "SimRequest",
    "Simulator",
    "bytes_response",
    "check_model",
    "chunk_sizes",
    "count_tokens",
    "json_response",
    "sse_response",
    "text_of",
]


class SimRequest:
    """One request as a route handler sees it."""

    def __init__(self, method: str, path: str, query: dict[str, list[str]],
                 headers: dict[str, str], body: bytes, match: re.Match[str]) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.match = match

    def json(self) -> Any:
        """The body parsed as JSON ({} when empty or not JSON, e.g. multipart)."""
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            return {}


class Response:
    """A status, headers, and either a body or an iterable of SSE chunks."""

    def __init__(self, status: int = 200, body: bytes = b"",
                 content_type: str = "application/json",
                 chunks: Iterable[bytes] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.chunks = chunks
        self.headers = headers or {}


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(obj).encode(), headers=headers)


def sse_response(events: Iterable[tuple[str | None, Any]]) -> Response:
    """SSE from (event name or None, data) pairs; data dicts are JSON-encoded."""

    def encode() -> Iterable[bytes]:
        for name, data in events:
            text = data if isinstance(data, str) else json.dumps(data)
            head = f"event: {name}\n" if name else ""
            yield f"{head}data: {text}\n\n".encode()

    return Response(200, content_type="text/event-stream", chunks=encode())


def bytes_response(body: bytes, content_type: str) -> Response:
    return Response(200, body, content_type=content_type)


class Reply(Exception):
    """Raised inside a route handler to answer at once with `response` (e.g. an error)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


#: Transport faults a model named ``fault-<kind>`` provokes: ``timeout`` (no answer for
#: `Simulator.fault_delay_s`), ``reset`` (the connection is reset before any answer),
#: ``badjson`` (200 with a truncated JSON body), ``cut`` (the answer, streamed or not, is
#: cut off by a reset after its first part).
FAULTS = ("timeout", "reset", "badjson", "cut")


class Fault(Exception):
    """Raised by `check_model` for a ``fault-<kind>`` model; the server misbehaves."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


_request = threading.local()  # per handler thread: whether to cut the current answer


def check_model(model: str, error: Callable[[int, str], Response]) -> str:
    """`model`, unless it is named ``error-429`` (etc.): then answer with ``error(429, model)``;
    or ``fault-<kind>`` (see `FAULTS`): then the connection misbehaves that way.

    Every provider route starts this way, so a test can make any call fail on purpose.
    """
    status = error_status(model)
    if status:
        raise Reply(error(status, model))
    if model.startswith("fault-"):
        kind = model[6:]
        if kind == "cut":
            _request.cut = True
        elif kind in FAULTS:
            raise Fault(kind)
    return model


#: One simulated token of generated text: 4 characters, so `count_tokens` counts it as one.
WORD = "tok "


def chunk_sizes(out: int) -> list[int]:
    """How a stream of `out` tokens is cut into chunks: 4 tokens a chunk, the rest last."""
    return [4] * (out // 4) + ([out % 4] if out % 4 else [])


def count_tokens(text: str) -> int:
    """Deterministic token count the simulator reports: about 4 characters a token."""
    return max(1, (len(text) + 3) // 4) if text else 0


def text_of(value: Any) -> str:
    """All the text inside a message list / content block structure, concatenated."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return " ".join(text_of(v) for k, v in value.items() if k in (
            "content", "text", "parts", "input", "prompt", "message", "messages", "contents"))
    if isinstance(value, (list, tuple)):
        return " ".join(text_of(v) for v in value)
    return ""


Handler = Callable[[SimRequest], Response]


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that stays quiet when a client drops a connection."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        try:
            super().shutdown_request(request)
        except OSError:  # already reset on purpose (a ``fault-*`` model)
            pass


class Simulator:
    """Provider simulator on a free loopback port; a context manager.

    ``Simulator().start()`` registers every provider's routes (see `providers`); the
    client libraries are pointed at ``sim.url`` (``sim.url + "/v1"`` for OpenAI-style).
    ``sim.requests`` records (method, path) of every request received.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 providers: Iterable[str] | None = None, fault_delay_s: float = 2.0) -> None:
        self.host = host
        self.port = port
        #: How long a ``fault-timeout`` model's request waits before the connection closes.
        self.fault_delay_s = fault_delay_s
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.requests: list[tuple[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        from . import register_all

        register_all(self, providers)

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Register `handler` for `method` and a full-match path regex."""

        def deco(handler: Handler) -> Handler:
            self.routes.append((method, re.compile(pattern), handler))
            return handler

        return deco

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def provider_hosts(self, provider: str = "openai") -> dict[str, str]:
        """``{host: provider}`` for ``configure(provider_hosts=...)``: calls to the simulator
        are then metered as `provider`'s (its grid, PUE and fleet), as a real call would be,
        instead of as a loopback server's ("self-hosted", world-average grid)."""
        if not isinstance(provider, str) or not provider.strip():
            raise ValueError(f"Simulator.provider_hosts: provider must be a provider name "
                             f"such as 'openai', got {provider!r}")
        return {self.host: provider}

    def start(self) -> Simulator:
        sim = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                sim.requests.append((self.command, parts.path))
                for method, pattern, handler in sim.routes:
                    m = pattern.fullmatch(parts.path)
                    if m and method == self.command:
                        req = SimRequest(self.command, parts.path, parse_qs(parts.query),
                                         {k.lower(): v for k, v in self.headers.items()},
                                         body, m)
                        _request.cut = False
                        try:
                            resp = handler(req)
                        except Reply as reply:
                            resp = reply.response
                        except Fault as fault:
                            self._fault(fault.kind)
                            return
                        except Exception as exc:  # a simulator bug: say so loudly
                            resp = json_response({"error": {"message": repr(exc)}}, 500)
                        self._write(resp, cut=_request.cut)
                        return
                self._write(json_response({"error": {"message": f"no route {parts.path}"}}, 404))

            def _reset(self) -> None:
                """Reset the connection (RST, not FIN): what a crashed proxy looks like."""
                self.wfile.flush()
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True

            def _fault(self, kind: str) -> None:
                if kind == "timeout":
                    time.sleep(sim.fault_delay_s)
                    self.close_connection = True
                elif kind == "reset":
                    self._reset()
                else:  # badjson
                    self._write(Response(200, b'{"id": "sim-1", "object": "chat.completion", '
                                              b'"choices": [{"index": 0, "mess'))

            def _write(self, resp: Response, cut: bool = False) -> None:
                self.send_response(resp.status)
                self.send_header("content-type", resp.content_type)
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                if resp.chunks is None:
                    self.send_header("content-length", str(len(resp.body)))
                    self.end_headers()
                    self.wfile.write(resp.body[: len(resp.body) // 2] if cut else resp.body)
                    if cut:
                        self._reset()
                    return
                self.send_header("transfer-encoding", "chunked")
                self.send_header("cache-control", "no-cache")
                self.end_headers()
                try:
                    for i, chunk in enumerate(resp.chunks):
                        if cut and i == 2:
                            self._reset()
                            return
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):  # client stopped reading
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._server = _Server((self.host, self.port), _Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="wattmeter-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Simulator:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def error_status(model: str) -> int | None:
    """Models named ``error-429`` (etc.) make the simulator answer with that status."""
    if model.startswith("error-"):
        try:
            return int(model.split("-", 1)[1][:3])
        except ValueError:
            return 500
    return None
