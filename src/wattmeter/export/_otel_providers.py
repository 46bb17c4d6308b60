"""Which OpenTelemetry providers wattmeter's spans and metrics go through, and its OTel
metric instruments.

The global providers by default; `use_providers` (called by `WattmeterInstrumentor`) sets
explicit ones and the schema URL of wattmeter's tracer and meter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._version import __version__
from . import semconv as sc
from ._span_adoption import watch

__all__ = ["explicit", "instruments", "on_providers", "tracer_of", "use_providers"]

#: Providers given explicitly (`WattmeterInstrumentor(tracer_provider=...)`); None: global.
explicit: dict[str, Any] = {"tracer_provider": None, "meter_provider": None,
                            "schema_url": None}
#: wattmeter's OTel metric instruments by short name, made on first use.
_instruments: dict[str, Any] = {}
#: Told when `use_providers` changes the providers (the meter core's `replain`).
_listeners: list[Callable[[], None]] = []


def on_providers(listener: Callable[[], None]) -> None:
    """Call `listener()` whenever `use_providers` runs (once per listener)."""
    if listener not in _listeners:
        _listeners.append(listener)


def use_providers(tracer_provider: Any = None, meter_provider: Any = None,
                  schema_url: str | None = None) -> None:
    """Send wattmeter's spans and OTel metrics through these providers (None: the global
    ones), with `schema_url` on its tracer and meter; takes effect on the next call."""
    if schema_url is not None and not isinstance(schema_url, str):
        raise ValueError(f"schema_url must be a URL string, not {schema_url!r}")
    for name, provider, method in (("tracer_provider", tracer_provider, "get_tracer"),
                                   ("meter_provider", meter_provider, "get_meter")):
        if provider is not None and not callable(getattr(provider, method, None)):
            raise ValueError(f"{name} must be an OpenTelemetry {name.replace('_', ' ')} "
                             f"(with {method}()), not {type(provider).__name__}")
    explicit.update(tracer_provider=tracer_provider, meter_provider=meter_provider,
                    schema_url=schema_url)
    _instruments.clear()  # made again through the new meter provider
    for listener in _listeners:
        listener()


def tracer_of(provider: Any, trace: Any) -> Any:
    """A tracer when `provider` records (an SDK or vendor provider), else None; an SDK
    provider gets the processor adopting other instrumentations' spans."""
    if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return None
    watch(provider)
    return provider.get_tracer("wattmeter", __version__, schema_url=explicit["schema_url"])


def instruments() -> dict[str, Any]:
    """The energy and CO2e counters and the per-call energy histogram, made on first use."""
    if not _instruments:
        _make_instruments()
    return _instruments


def _make_instruments() -> None:
    from opentelemetry import metrics

    from .prometheus import ENERGY_BUCKETS_J

    provider = explicit["meter_provider"]
    meter = (provider.get_meter("wattmeter", __version__, schema_url=explicit["schema_url"])
             if provider is not None else
             metrics.get_meter("wattmeter", __version__, schema_url=explicit["schema_url"]))
    _instruments["co2e"] = meter.create_counter(
        sc.OTEL_CO2E, unit="g", description="CO2-equivalent emissions of generative-AI calls.")
    _instruments["call_energy"] = meter.create_histogram(
        sc.OTEL_CALL_ENERGY, unit="J", description="Facility energy of one generative-AI call.",
        explicit_bucket_boundaries_advisory=list(ENERGY_BUCKETS_J))
    _instruments["energy"] = meter.create_counter(
        sc.OTEL_ENERGY, unit="J", description="Facility energy of generative-AI calls.")
