"""The embedded /metrics server: loopback by default, port 0 for any free port.

One per process, started or moved when the configuration asks for it. In multiprocess
mode it serves the sum of every worker's files rather than this process' registry.
"""

from __future__ import annotations

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


def apply(host: str, port: int | None, registry: Any) -> MetricsServer | None:
    """Make the running server match (host, port): start, keep, move or stop it."""
    with _lock:
        server = _state["server"]
        if server is not None and (port is None or server.requested != (host, port)):
            server.close()
            server = _state["server"] = None
        if server is None and port is not None:
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
