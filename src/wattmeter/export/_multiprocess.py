"""Multiprocess mode for gunicorn/uvicorn workers (``PROMETHEUS_MULTIPROC_DIR``).

prometheus_client picks mmap-backed values when that variable is set before it is
imported; each worker then writes its own files and one collector sums them. Gauges
declare how to merge (budget gauges: the most recent value; build info: the max).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["collector_registry", "enabled", "mark_process_dead"]


def enabled() -> bool:
    """True when prometheus_client writes per-process files (the env var is set)."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR")
                or os.environ.get("prometheus_multiproc_dir"))


def collector_registry() -> Any:
    """A fresh registry whose collector reads and sums every worker's files."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def mark_process_dead(pid: int) -> None:
    """Drop a dead worker's live gauges; call it from gunicorn's ``child_exit`` hook."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)
