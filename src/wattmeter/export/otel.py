"""OpenTelemetry: GenAI spans carrying each call's footprint, and optional OTel metrics.

With no SDK configured (the global tracer provider is the API's proxy) the hooks return
after one comparison; a provider installed later is noticed on the next call. Modes
(config ``spans``): ``auto`` enriches the current GenAI span of another instrumentation
(official GenAI instrumentations, OpenLLMetry, logfire) or makes one; ``enrich`` only
enriches; ``create`` always makes one.

One span per call, whatever the order the wrappers were installed in:

* Their wrapper outside ours: their span is current when our call starts; we add the
  ``wattmeter.*`` attributes to it when the call finishes (it is still open then).
* Their wrapper inside ours (they instrumented first, or the SDK makes its own span, as
  anthropic 2.x does): in ``auto`` and ``enrich`` modes our span is not opened up front. A
  span processor (added once to an SDK TracerProvider) watches for a GenAI span starting
  while our call is in progress and adopts it: team and labels go on it at once, and its
  ``end()`` is held (the time it was asked for is kept) until our call finishes, so the
  energy and CO2e land on that very span, which then ends at the time its
  instrumentation chose. A span that cannot be held (not an SDK span) and has ended gets
  the figures on a short child span, ``wattmeter.footprint``, in the same trace.
  Without such a span, ``auto`` makes our own when the call finishes, with the call's
  start time.
* On a span wattmeter enriches, the other instrumentation's ``gen_ai.*`` values win;
  wattmeter adds those it lacks (e.g. ``gen_ai.usage.*`` of a stream whose usage chunk
  wattmeter asked for and hid from the caller).

Our span never becomes the current span, so it re-parents nothing. Prompt and completion
text never go on spans: counts and estimates only.
"""

from __future__ import annotations

import os
import time
import weakref
from typing import Any

from .._attribution import current_call
from .._footprint import Footprint
from .._guard import logger
from .._text import clean
from .._version import __version__
from . import semconv as sc
from ._labels import LabelBounds

__all__ = ["SpanHooks", "is_genai_span", "use_providers"]

#: Span-name prefixes of GenAI spans made by other instrumentations (lower case).
_GENAI_NAME_PREFIXES = (
    "chat ", "text_completion ", "embeddings ", "generate_content ", "create_agent ",
    "invoke_agent ", "openai.", "anthropic.", "gemini.", "vertexai.", "cohere.",
    "mistralai.", "bedrock.", "groq.", "litellm", "chat completion", "message with",
    "embedding creation", "completion with",
)
_GENAI_KEYS = (sc.GEN_AI_SYSTEM, sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_REQUEST_MODEL,
               sc.GEN_AI_OPERATION_NAME, "llm.request.type")

#: id(provider) -> weak reference, for providers our processor is on (by identity: some,
#: like logfire's, are unhashable dataclasses).
_watched: dict[int, Any] = {}
_hinted = {"held": False, "child": False}
_instruments: dict[str, Any] = {}
_UNKNOWN = object()
#: Providers given explicitly (`WattmeterInstrumentor(tracer_provider=...)`); None: global.
_explicit: dict[str, Any] = {"tracer_provider": None, "meter_provider": None,
                             "schema_url": None}


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
    _explicit.update(tracer_provider=tracer_provider, meter_provider=meter_provider,
                     schema_url=schema_url)
    _instruments.clear()  # made again through the new meter provider


def is_genai_span(span: Any) -> bool:
    """True when `span` looks made by a GenAI instrumentation (gen_ai.* attribute or name)."""
    attrs = getattr(span, "attributes", None)
    if attrs:
        for key in _GENAI_KEYS:
            if key in attrs:
                return True
    name = getattr(span, "name", None)
    return isinstance(name, str) and name.lower().startswith(_GENAI_NAME_PREFIXES)


class _State:
    """What a call's span hook keeps on `Call.span`."""

    __slots__ = ("held", "inner", "make", "owned", "parent", "pending", "span", "start_ns")

    def __init__(self, span: Any, owned: bool, parent: Any = None, pending: bool = False,
                 make: bool = True) -> None:
        self.span = span
        self.owned = owned
        self.parent = parent  # the context our deferred span will be a child of
        self.pending = pending  # our span is made at the end, unless one is adopted
        self.make = make  # False in enrich mode: adopt a span, never make one
        self.start_ns = time.time_ns()
        self.inner: Any = None  # a GenAI span another instrumentation made inside the call
        self.held: _HeldEnd | None = None  # the inner span's end(), held until we finish


class _HeldEnd:
    """Stands in for an adopted span's ``end()`` until the footprint is on it; keeps the time."""

    __slots__ = ("end_time", "ended")

    def __init__(self) -> None:
        self.ended = False
        self.end_time: int | None = None

    def __call__(self, end_time: int | None = None) -> None:
        if not self.ended:
            self.ended = True
            self.end_time = end_time if end_time is not None else time.time_ns()


def _watcher() -> Any:
    """An SDK span processor noticing a GenAI span that starts inside a pending metered call.

    Built lazily: the SDK is imported only when an SDK TracerProvider is in use.
    """
    from opentelemetry.sdk.trace import SpanProcessor

    class InnerSpanWatcher(SpanProcessor):
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            call = current_call.get()
            if call is None:
                return
            state = call.span
            if type(state) is _State and state.pending and state.inner is None \
                    and is_genai_span(span):
                state.inner = span
                span.set_attributes(_attribution_attributes(call))
                held = _HeldEnd()
                try:
                    span.end = held  # an instance attribute: SDK spans have a __dict__
                    state.held = held
                except AttributeError:
                    pass

    return InnerSpanWatcher()


class SpanHooks:
    """`start(call)` before the request leaves, `end(call, fp, error)` once it is done."""

    def __init__(self, config: Any) -> None:
        from opentelemetry import trace

        self.mode: str = config.spans
        self.metrics: bool = bool(config.otel_metrics)
        self.bounds = LabelBounds(int(config.max_label_values))
        self._trace = trace
        self._provider: Any = None
        self._tracer: Any = None
        self._proxy = trace.ProxyTracerProvider()
        self._env_provider = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ

    def _current_tracer(self) -> Any:
        trace = self._trace
        explicit = _explicit["tracer_provider"]
        if explicit is not None:
            if explicit is not self._provider:
                self._provider = explicit
                self._tracer = _tracer_of(explicit, trace)
            return self._tracer
        # The API's global, read directly: get_tracer_provider() costs ~3 µs (an environ
        # lookup) and this runs on every call. None = nothing installed yet.
        provider = getattr(trace, "_TRACER_PROVIDER", _UNKNOWN)
        if provider is None and not self._env_provider:
            provider = self._proxy
        elif provider is None or provider is _UNKNOWN:
            provider = trace.get_tracer_provider()
        if provider is not self._provider:  # first call, or the app installed a provider
            self._provider = provider
            self._tracer = _tracer_of(provider, self._trace)
        return self._tracer

    def start(self, call: Any) -> None:
        """Find the span to enrich, or open ours (create) or defer it (auto)."""
        if self.mode == "off":
            return
        tracer = self._current_tracer()
        if tracer is None:
            return
        mode = self.mode
        if mode != "create":
            current = self._trace.get_current_span()
            if current.is_recording() and is_genai_span(current):
                call.span = _State(current, owned=False)
                return
            from opentelemetry import context

            call.span = _State(None, owned=True, parent=context.get_current(), pending=True,
                               make=mode == "auto")
            return
        span = tracer.start_span(_span_name(call.operation, call.model),
                                 kind=self._trace.SpanKind.CLIENT)
        call.span = _State(span, owned=True)

    def end(self, call: Any, fp: Footprint | None, error: BaseException | None) -> None:
        """Put the footprint on the call's span and close it if it is ours."""
        if self.metrics and fp is not None:
            self._record_metrics(fp)
        state = call.span
        if type(state) is not _State:
            return
        state.pending = False
        span, held = state.span, state.held
        if state.inner is not None:  # another instrumentation's span, made inside our call
            span, state.owned, state.held = state.inner, False, None
            if held is not None:
                vars(span).pop("end", None)  # its own end() again
        elif span is None:
            if not state.make:
                return
            tracer = self._current_tracer()
            if tracer is None:
                return
            span = tracer.start_span(_span_name(call.operation, call.model),
                                     context=state.parent, kind=self._trace.SpanKind.CLIENT,
                                     start_time=state.start_ns)
        state.span = span  # kept for the Prometheus exemplar (trace id) of this call
        try:
            if span.is_recording():
                self._annotate(span, call, fp, error, state.owned)
                if held is not None and held.ended and not _hinted["held"]:
                    _hinted["held"] = True
                    logger.debug("wattmeter: another instrumentation's GenAI span ended inside "
                                 "wattmeter's wrapper; its end was held until the footprint "
                                 "was on it")
            elif state.inner is not None:
                self._child_span(span, call, fp, error)
        finally:
            if held is not None and held.ended:
                span.end(end_time=held.end_time)

    def _annotate(self, span: Any, call: Any, fp: Footprint | None,
                  error: BaseException | None, owned: bool) -> None:
        failed = error is not None or (fp is not None and fp.outcome == "error")
        attrs = _attributes(call, fp, error, owned and failed, owned)
        if not owned and fp is not None:
            _fill_missing(attrs, getattr(span, "attributes", None), call, fp)
        span.set_attributes(attrs)
        if owned:
            if failed:
                from opentelemetry.trace import Status, StatusCode

                span.set_status(Status(StatusCode.ERROR, _error_type(error)))
            span.end()

    def _child_span(self, ended: Any, call: Any, fp: Footprint | None,
                    error: BaseException | None) -> None:
        """The figures on a short ``wattmeter.footprint`` child of a span that has ended."""
        tracer = self._current_tracer()
        if tracer is None:
            return
        attrs = _attributes(call, fp, error, False, False)
        if fp is not None:
            _fill_missing(attrs, None, call, fp)
        child = tracer.start_span(sc.FOOTPRINT_SPAN, kind=self._trace.SpanKind.INTERNAL,
                                  context=self._trace.set_span_in_context(ended),
                                  attributes=attrs)
        child.end()
        if not _hinted["child"]:
            _hinted["child"] = True
            logger.debug("wattmeter: another instrumentation's GenAI span had ended before the "
                         "footprint was known; the figures are on its child span %s",
                         sc.FOOTPRINT_SPAN)

    def _record_metrics(self, fp: Footprint) -> None:
        if not _instruments:
            _make_instruments()
        b = self.bounds.bound
        attrs = {
            sc.ATTR_TEAM: b(sc.LABEL_TEAM, fp.team),
            sc.GEN_AI_PROVIDER_NAME: b(sc.LABEL_PROVIDER, _provider_name(fp.provider)),
            sc.GEN_AI_REQUEST_MODEL: b(sc.LABEL_MODEL, fp.model),
            sc.GEN_AI_OPERATION_NAME: b(sc.LABEL_OPERATION, _operation_name(fp.operation)),
        }
        joules = fp.energy_wh * 3600.0
        _instruments["energy"].add(joules, attrs)
        _instruments["co2e"].add(fp.co2e_g, attrs)
        _instruments["call_energy"].record(joules, attrs)


def _tracer_of(provider: Any, trace: Any) -> Any:
    """A tracer when `provider` records (an SDK or vendor provider), else None."""
    if isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return None
    if hasattr(provider, "add_span_processor"):
        ref = _watched.get(id(provider))
        if ref is None or ref() is not provider:
            provider.add_span_processor(_watcher())
            _watched[id(provider)] = weakref.ref(provider)
    return provider.get_tracer("wattmeter", __version__, schema_url=_explicit["schema_url"])


def _make_instruments() -> None:
    from opentelemetry import metrics

    from .prometheus import ENERGY_BUCKETS_J

    provider = _explicit["meter_provider"]
    meter = (provider.get_meter("wattmeter", __version__, schema_url=_explicit["schema_url"])
             if provider is not None else
             metrics.get_meter("wattmeter", __version__, schema_url=_explicit["schema_url"]))
    _instruments["co2e"] = meter.create_counter(
        sc.OTEL_CO2E, unit="g", description="CO2-equivalent emissions of generative-AI calls.")
    _instruments["call_energy"] = meter.create_histogram(
        sc.OTEL_CALL_ENERGY, unit="J", description="Facility energy of one generative-AI call.",
        explicit_bucket_boundaries_advisory=list(ENERGY_BUCKETS_J))
    _instruments["energy"] = meter.create_counter(
        sc.OTEL_ENERGY, unit="J", description="Facility energy of generative-AI calls.")


def _operation_name(operation: str) -> str:
    return sc.OPERATION_NAMES.get(operation, operation)


def _provider_name(provider: str) -> str:
    return sc.PROVIDER_NAMES.get(provider, provider)


def _span_name(operation: str, model: str) -> str:
    return f"{_operation_name(operation)} {model}"


def _error_type(error: BaseException | None) -> str:
    return type(error).__qualname__ if error is not None else "error"


def _attribution_attributes(call: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {sc.ATTR_TEAM: call.team}
    for name, value in call.labels.items():
        attrs[sc.ATTR_LABEL_PREFIX + name] = value
    return attrs


def _attributes(call: Any, fp: Footprint | None, error: BaseException | None, failed: bool,
                owned: bool) -> dict[str, Any]:
    attrs = _attribution_attributes(call)
    if owned:  # an enriched span keeps the gen_ai.* values its instrumentation set
        usage = call.usage
        attrs[sc.GEN_AI_PROVIDER_NAME] = (usage is not None and usage.provider_name) or \
            _provider_name(call.provider)
        attrs[sc.GEN_AI_OPERATION_NAME] = _operation_name(call.operation)
        attrs[sc.GEN_AI_REQUEST_MODEL] = call.model
        if failed:
            attrs[sc.ERROR_TYPE] = _error_type(error)
    if fp is None:
        return attrs
    if owned:
        if fp.response_model:
            attrs[sc.GEN_AI_RESPONSE_MODEL] = fp.response_model
        attrs.update(_genai_details(call, fp))
    attrs.update({
        sc.ATTR_ENERGY_WH: fp.energy_wh,
        sc.ATTR_ENERGY_WH_LOW: fp.energy_wh_low,
        sc.ATTR_ENERGY_WH_HIGH: fp.energy_wh_high,
        sc.ATTR_ACCELERATOR_WH: fp.accelerator_wh,
        sc.ATTR_CO2E_G: fp.co2e_g,
        sc.ATTR_CO2E_G_LOW: fp.co2e_g_low,
        sc.ATTR_CO2E_G_HIGH: fp.co2e_g_high,
        sc.ATTR_GRID_ZONE: fp.grid_zone,
        sc.ATTR_GRID_INTENSITY: fp.grid_gco2e_per_kwh,
        sc.ATTR_PUE: fp.pue,
        sc.ATTR_METHOD: fp.method,
        # life-cycle impacts (issue 10): embodied and total CO2e, water, abiotic depletion
        sc.ATTR_CO2E_EMBODIED_G: fp.co2e_embodied_g,
        sc.ATTR_CO2E_EMBODIED_G_LOW: fp.co2e_embodied_g_low,
        sc.ATTR_CO2E_EMBODIED_G_HIGH: fp.co2e_embodied_g_high,
        sc.ATTR_CO2E_TOTAL_G: fp.co2e_total_g,
        sc.ATTR_CO2E_TOTAL_G_LOW: fp.co2e_total_g_low,
        sc.ATTR_CO2E_TOTAL_G_HIGH: fp.co2e_total_g_high,
        sc.ATTR_WATER_ML: fp.water_ml,
        sc.ATTR_WATER_ML_LOW: fp.water_ml_low,
        sc.ATTR_WATER_ML_HIGH: fp.water_ml_high,
        sc.ATTR_ADPE_KGSBEQ: fp.adpe_kgsbeq,
        sc.ATTR_ADPE_KGSBEQ_LOW: fp.adpe_kgsbeq_low,
        sc.ATTR_ADPE_KGSBEQ_HIGH: fp.adpe_kgsbeq_high,
    })
    if fp.warnings:
        attrs[sc.ATTR_WARNINGS] = list(fp.warnings)
    return attrs


def _genai_details(call: Any, fp: Footprint) -> dict[str, Any]:
    """The GenAI semconv attributes wattmeter knows of a finished call: counts, response
    id and finish reasons, output type, server address and port."""
    attrs: dict[str, Any] = {sc.GEN_AI_USAGE_INPUT_TOKENS: fp.input_tokens,
                             sc.GEN_AI_USAGE_OUTPUT_TOKENS: fp.output_tokens}
    if fp.cached_input_tokens:
        attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = fp.cached_input_tokens
    if fp.reasoning_tokens:
        attrs[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = fp.reasoning_tokens
    usage = call.usage
    output_type = sc.OUTPUT_TYPES.get(fp.operation)
    if usage is not None:
        output_type = usage.output_type or output_type
        # Read off the provider's response: text only, valid UTF-8, bounded in length and
        # count, so a hostile or broken server can't put megabytes on the span.
        rid = usage.response_id
        if type(rid) is str and rid:
            attrs[sc.GEN_AI_RESPONSE_ID] = clean(rid)
        reasons = usage.finish_reasons
        if reasons:
            attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] = [
                clean(r, 64) for r in list(reasons)[:16] if type(r) is str]
        host = usage.server_address
        if type(host) is str and host:
            attrs[sc.SERVER_ADDRESS] = clean(host)
            port = usage.server_port
            if type(port) is int and 0 < port < 65536:
                attrs[sc.SERVER_PORT] = port
    if output_type:
        attrs[sc.GEN_AI_OUTPUT_TYPE] = output_type
    return attrs


def _fill_missing(attrs: dict[str, Any], existing: Any, call: Any, fp: Footprint) -> None:
    """Add the GenAI details a span lacks (`existing`: its attributes, or None)."""
    for key, value in _genai_details(call, fp).items():
        if existing is None or key not in existing:
            attrs[key] = value
