"""Loopback HTTP servers that misbehave on purpose: trickle bytes, answer garbage,
redirect elsewhere, ask to retry later. Shared by the reliability probes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Server", "prometheus_answer", "trickle"]

Reply = Callable[["Handler"], None]


class Handler(BaseHTTPRequestHandler):
    """Reads the request, records it, and lets the server's `reply` answer."""

    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        owner = self.server.owner
        owner.requests.append((time.monotonic(), self.path, body))
        owner.reply(self)

    def send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: Server


class Server:
    """A loopback server on `host` whose answers come from `reply(handler)`."""

    def __init__(self, reply: Reply, host: str = "127.0.0.1") -> None:
        self.reply = reply
        self.requests: list[tuple[float, str, bytes]] = []
        self.stop = threading.Event()  # ends trickling replies
        self.httpd = _HTTPServer((host, 0), Handler)
        self.httpd.owner = self
        self.url = f"http://{host}:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def prometheus_answer(value: str) -> Reply:
    """A Prometheus query API that answers one vector sample with `value` (raw text)."""
    body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [time.time(), value]}]}}).encode()

    def reply(h: Handler) -> None:
        h.send(200, body, {"Content-Type": "application/json"})
    return reply


def trickle(interval_s: float = 0.1) -> Reply:
    """Answers one header byte every `interval_s` until the server stops: each read is
    quick, the answer never completes."""
    def reply(h: Handler) -> None:
        owner = h.server.owner
        try:
            h.wfile.write(b"HTTP/1.1 200 OK\r\n")
            h.wfile.flush()
            while not owner.stop.wait(interval_s):
                h.wfile.write(b"X")
                h.wfile.flush()
        except OSError:
            pass
        h.close_connection = True
    return reply
