"""PLACEHOLDER until the telemetry issue lands."""

from __future__ import annotations

from typing import Any


class SpanHooks:
    def __init__(self, config: Any) -> None:
        self.config = config

    def start(self, call: Any) -> None:
        pass

    def end(self, call: Any, fp: Any, error: Any) -> None:
        pass
