"""The embedded /metrics server: loopback by default, port 0 for any free port.

One per process, started or moved when the configuration asks for it. In multiprocess
mode it serves the sum of every worker's files rather than this process' registry. A
forked child does not serve its parent's address (the parent still does); it forgets the
parent's server without waiting on the parent's server thread, which the child lacks.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from .. import _guard
from . import _multiprocess

__all__ = ["MetricsServer", "apply", "current"]


class MetricsServer:
    """A running /metrics endpoint; `port` is the bound port (useful with port 0)."""

    def __init__(self, host: str, port: int, registry: Any) -> None:
        from prometheus_client import start_http_server

        self.requested = (host, port)
        served = _multiprocess.collector_registry() if _multiprocess.enabled() else registry
        self._httpd, self._thread = start_http_server(port, addr=host, registry=served)
        self.host = host
        self.port: int = self._httpd.server_port

    @property
    def url(self) -> str:
        """The scrape URL, e.g. ``http://127.0.0.1:9464/metrics``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and free the port."""
        self._httpd.shutdown()
        self._httpd.server_close()


_state: dict[str, MetricsServer | None] = {"server": None}
_lock = threading.Lock()
#: Addresses that could not be bound (warned about once each).
_failed: set[tuple[str, int]] = set()
#: In a forked child: the address the parent serves, which the child leaves to it.
_parents: set[tuple[str, int]] = set()


def apply(host: str, port: int | None, registry: Any) -> MetricsServer | None:
    """Make the running server match (host, port): start, keep, move or stop it."""
    with _lock:
        server = _state["server"]
        if server is not None and (port is None or server.requested != (host, port)):
            server.close()
            server = _state["server"] = None
        if server is None and port is not None and (host, port) not in _parents:
            try:
                server = _state["server"] = MetricsServer(host, int(port), registry)
            except OSError as exc:  # e.g. the port is taken (another worker, another app)
                _guard.count_error("metrics_server")
                if (host, port) in _failed:
                    return None
                _failed.add((host, port))
                _guard.logger.warning(
                    "wattmeter: cannot serve /metrics on %s:%s (%s); metrics are still "
                    "recorded in the registry. Set metrics_port to a free port, or 0 for "
                    "any free port.", host, port, exc.strerror or exc)
        return server


def current() -> MetricsServer | None:
    """The running server, or None."""
    return _state["server"]


def _after_fork_child() -> None:
    global _lock
    _lock = threading.Lock()
    server, _state["server"] = _state["server"], None
    if server is not None:
        _parents.add(server.requested)
        try:  # the child's copy of the listening socket; the parent's stays open
            server._httpd.socket.close()
        except OSError:
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_child)
