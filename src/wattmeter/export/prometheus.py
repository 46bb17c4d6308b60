"""PLACEHOLDER until the telemetry issue lands."""

from __future__ import annotations

from typing import Any


class _Exporter:
    def record(self, fp: Any, call: Any) -> None:
        pass


def exporter(config: Any, registry: Any = None) -> _Exporter:
    return _Exporter()
