"""Test-suite wide setup: internal errors re-raise, configuration and patches reset, the
record queue drained after each test."""

from __future__ import annotations

import os

os.environ["WATTMETER_STRICT"] = "1"  # internal errors propagate inside our own tests
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm offline: no cost-map fetch

from collections.abc import Iterator
from typing import Any

import pytest

from wattmeter import _config, _queue
from wattmeter.instrument import uninstrument


@pytest.fixture(autouse=True)
def _clean_state(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with default configuration, no patches, in its own directory."""
    for key in list(os.environ):
        if key.startswith("WATTMETER_") and key != "WATTMETER_STRICT":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    _config.reset()
    yield
    _queue.flush()  # the test's calls are processed under its configuration, not the next's
    uninstrument()
    monkeypatch.undo()  # restore env and cwd before reloading the configuration
    _config.reset()


@pytest.fixture(scope="session")
def simulator() -> Iterator[object]:
    """One provider simulator on a free loopback port for the whole session."""
    from wattmeter.testing.simulator import Simulator

    with Simulator() as sim:
        yield sim


_EXPORTER: list[Any] = []  # the one in-memory exporter, made when first asked for


@pytest.fixture
def spans() -> Iterator[Any]:
    """An ``InMemorySpanExporter`` on the global SDK tracer provider (set once per process,
    so one exporter serves every test directory)."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    if not _EXPORTER:
        _EXPORTER.append(InMemorySpanExporter())
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER[0]))
    exporter = _EXPORTER[0]
    exporter.clear()
    yield exporter
    exporter.clear()
