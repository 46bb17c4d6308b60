"""Test-suite wide setup: internal errors re-raise, configuration and patches reset, the
record queue drained after each test.

Everything here is per process, so it holds for one pytest process as for each of
pytest-xdist's workers (``-n auto``): session fixtures (the simulator) start once per
worker, every test runs in its own ``tmp_path`` and servers bind port 0.
"""

from __future__ import annotations

import gc
import os

os.environ["WATTMETER_STRICT"] = "1"  # internal errors propagate inside our own tests
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm offline: no cost-map fetch

from collections.abc import Iterator
from typing import Any

import pytest

from wattmeter import _config, _queue
from wattmeter.instrument import uninstrument

#: Tests started since the last full garbage collection (see `_gc_checkpoint`).
_SINCE_FULL_GC = [0]
FULL_GC_EVERY = 200


def _gc_checkpoint() -> None:
    """Freeze what earlier tests left (``gc.freeze``), so a test's own ``gc.collect()``
    walks only what the test made; every `FULL_GC_EVERY` tests, collect everything once.

    With every provider SDK imported, a full collection walks ~600,000 objects (0.4 s on
    the 2-core test machine, more under load), and the stream and fault tests call it
    two or three times each to finish dropped streams. Frozen objects are still alive,
    just not scanned: earlier tests' garbage finishes at the next checkpoint, never inside
    a later test's ``capture()``.
    """
    _SINCE_FULL_GC[0] += 1
    if _SINCE_FULL_GC[0] >= FULL_GC_EVERY:
        _SINCE_FULL_GC[0] = 0
        gc.unfreeze()
        gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _clean_state(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with default configuration, no patches, in its own directory."""
    _gc_checkpoint()
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


_SDK: list[Any] = []  # the one SDK tracer provider and its in-memory exporter


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An ``InMemorySpanExporter`` on an SDK tracer provider, the global one for this test
    only (the API's global is set directly; the other tests run as an application without
    an SDK does: with the meter core's plain path, issue 19); reading its spans flushes the
    record queue, whose thread ends wattmeter's own spans."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    if not _SDK:

        class Flushing(InMemorySpanExporter):
            """wattmeter's own spans end on the record queue's thread: reading flushes it."""

            def get_finished_spans(self) -> Any:
                _queue.flush()
                return super().get_finished_spans()

        provider = TracerProvider()
        _SDK[:] = [provider, Flushing()]
        provider.add_span_processor(SimpleSpanProcessor(_SDK[1]))
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", _SDK[0])
    exporter = _SDK[1]
    exporter.clear()
    yield exporter
    exporter.clear()
