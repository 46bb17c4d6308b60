"""`WattmeterInstrumentor`: wattmeter as an OpenTelemetry instrumentor, so
``opentelemetry-instrument`` (the ``opentelemetry_instrumentor`` entry point) loads it.

A thin layer over `wattmeter.instrument()`: the same patches and post-import hooks, with
spans and OpenTelemetry metrics sent through the providers given here. Needs the
``opentelemetry-instrumentation`` package (``pip install wattmeter[otel]``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

from . import _config, _queue
from .export.otel import use_providers
from .instrument import Instrumentation, instrument

__all__ = ["WattmeterInstrumentor"]


class WattmeterInstrumentor(BaseInstrumentor):
    """Meter every installed supported GenAI library, spans and metrics through OTel.

    ``WattmeterInstrumentor().instrument(tracer_provider=..., meter_provider=...,
    schema_url=..., libraries=["openai"])``; every argument is optional. A
    `meter_provider` also turns on wattmeter's OpenTelemetry metrics (``otel_metrics``).
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        """None as a whole: each library is checked against its own tested version range
        when it is patched, and a missing one is simply not metered."""
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        libraries = kwargs.get("libraries") or ()
        if isinstance(libraries, str) or not all(isinstance(n, str) for n in libraries):
            raise ValueError("libraries must be a list of library names, e.g. ['openai']")
        use_providers(kwargs.get("tracer_provider"), kwargs.get("meter_provider"),
                      kwargs.get("schema_url"))
        if kwargs.get("meter_provider") is not None and not _config.current().otel_metrics:
            _config.configure(otel_metrics=True)
        self._handle: Instrumentation | None = instrument(*libraries)

    def _uninstrument(self, **kwargs: Any) -> None:
        # Only what this instrumentor patched: a plain `wattmeter.instrument()` elsewhere
        # in the application keeps its patches.
        handle: Instrumentation | None = getattr(self, "_handle", None)
        self._handle = None
        if handle is not None:
            handle.undo()
        _queue.flush()  # calls finished under these providers end their spans through them
        use_providers()
