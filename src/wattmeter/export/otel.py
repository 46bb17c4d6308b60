"""OpenTelemetry: GenAI spans carrying each call's footprint, and optional OTel metrics.

With no SDK configured (the global tracer provider is the API's proxy) the provider core
skips the hooks' start (`SpanHooks.start_gate`, one C-level read of the API's global); a
provider installed later is noticed on the next call. Modes
(config ``spans``): ``auto`` enriches the current GenAI span of another instrumentation
(official GenAI instrumentations, OpenLLMetry, logfire) or makes one; ``enrich`` only
enriches; ``create`` always makes one (after the call, with the call's start time).

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
  Without such a span, ``auto`` makes our own after the call finishes, with the call's
  start time.
* wattmeter's own span (``auto`` with no other GenAI span, ``create``) is made, annotated
  and ended on the record queue's thread, with the start and end times and the parent
  context captured on the caller's thread, so a call with a span costs its caller about
  what one without does; `wattmeter.flush()` ends those still queued. A span of another
  instrumentation gets the figures on the caller's thread, before it ends.
* On a span wattmeter enriches, the other instrumentation's ``gen_ai.*`` values win;
  wattmeter adds those it lacks (e.g. ``gen_ai.usage.*`` of a stream whose usage chunk
  wattmeter asked for and hid from the caller).

Our span never becomes the current span, so it re-parents nothing. Prompt and completion
text never go on spans: counts and estimates only. The attributes are written by
`_genai_attributes`, the adoption is `_span_adoption`, the providers `_otel_providers`.
"""

from __future__ import annotations

import functools
import itertools
import os
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context

from .. import _queue
from .._footprint import Footprint
from .._guard import logger
from . import semconv as sc
from ._genai_attributes import (
    error_type,
    fill_missing,
    footprint_attributes,
    operation_name,
    provider_name,
    span_name,
)
from ._labels import LabelBounds
from ._otel_providers import explicit, instruments, on_providers, tracer_of, use_providers
from ._span_adoption import CallSpan, is_genai_span

__all__ = ["SpanHooks", "is_genai_span", "on_providers", "use_providers"]

_hinted = {"held": False, "child": False}
_UNKNOWN = object()


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
        self._env_provider = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ

    def _current_tracer(self) -> Any:
        trace = self._trace
        given = explicit["tracer_provider"]
        if given is not None:
            if given is not self._provider:
                self._provider = given
                self._tracer = tracer_of(given, trace)
                _queue.drain_before_exit_handlers()
            return self._tracer
        # The API's global, read directly: get_tracer_provider() costs ~3 µs (an environ
        # lookup) and this runs on every call. None = nothing installed yet.
        provider = getattr(trace, "_TRACER_PROVIDER", _UNKNOWN)
        if provider is None and not self._env_provider:
            return None  # no provider installed yet: no spans (the common case without an SDK)
        if provider is None or provider is _UNKNOWN:
            provider = trace.get_tracer_provider()
        if provider is not self._provider:  # first call, or the app installed a provider
            self._provider = provider
            self._tracer = tracer_of(provider, self._trace)
            if self._tracer is not None:  # our queued spans end before it shuts down
                _queue.drain_before_exit_handlers()
        return self._tracer

    def start_gate(self) -> Callable[[], Any] | None:
        """A C-level callable returning None while `start` can't give a call a span (the
        API's global provider unset, none given), so the provider core may skip it;
        None when `start` must run for every call."""
        if self.mode == "off":  # OpenTelemetry metrics only: made in the background
            return itertools.repeat(None).__next__
        if explicit["tracer_provider"] is not None or self._env_provider:
            return None
        return functools.partial(getattr, self._trace, "_TRACER_PROVIDER", _UNKNOWN)

    def start(self, call: Any) -> None:
        """Find the span to enrich, or note what ours needs (it is made after the call)."""
        if self.mode == "off":
            return
        tracer = self._current_tracer()
        if tracer is None:
            return
        mode = self.mode
        parent = otel_context.get_current()
        if mode != "create":
            current = self._trace.get_current_span(parent)
            if current.is_recording() and is_genai_span(current):
                call.span = CallSpan(current, owned=False)
                return
        # Ours: made after the call finishes (on the record queue's thread) with the start
        # time taken here and this parent; until then another GenAI span starting inside
        # the call may be adopted instead (not in create mode, which always makes its own).
        call.span = CallSpan(None, owned=True, parent=parent, pending=mode != "create",
                             make=mode != "enrich", tracer=tracer)

    def defer(self, call: Any) -> bool:
        """At the call's finish: True when its span is ours (made or ended later, in the
        background, ending at the time taken now); False when another instrumentation's
        span must get the figures now. Adoption stops here either way."""
        state = call.span
        if type(state) is not CallSpan:
            return True
        state.pending = False
        if state.inner is not None or not state.owned:
            return False
        state.end_ns = time.time_ns()
        return True

    def end(self, call: Any, fp: Footprint | None, error: BaseException | None) -> None:
        """Put the footprint on the call's span and close it if it is ours."""
        if self.metrics and fp is not None:
            self._record_metrics(fp)
        state = call.span
        if type(state) is not CallSpan:
            return
        state.pending = False
        span, held = state.span, state.held
        if state.inner is not None:  # another instrumentation's span, made inside our call
            span, state.owned, state.held = state.inner, False, None
            if held is not None:
                vars(span).pop("end", None)  # its own end() again
        elif span is None:
            tracer = state.tracer
            if not state.make or tracer is None:
                return
            span = tracer.start_span(span_name(call.operation, call.model),
                                     context=state.parent, kind=self._trace.SpanKind.CLIENT,
                                     start_time=state.start_ns)
        state.span = span  # kept for the Prometheus exemplar (trace id) of this call
        try:
            if span.is_recording():
                self._annotate(span, call, fp, error, state.owned, state.end_ns)
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
                  error: BaseException | None, owned: bool, end_ns: int | None) -> None:
        failed = error is not None or (fp is not None and fp.outcome == "error")
        attrs = footprint_attributes(call, fp, error, owned and failed, owned)
        if not owned and fp is not None:
            fill_missing(attrs, getattr(span, "attributes", None), call, fp)
        span.set_attributes(attrs)
        if owned:
            if failed:
                from opentelemetry.trace import Status, StatusCode

                span.set_status(Status(StatusCode.ERROR, error_type(error)))
            span.end(end_time=end_ns)  # None: now

    def _child_span(self, ended: Any, call: Any, fp: Footprint | None,
                    error: BaseException | None) -> None:
        """The figures on a short ``wattmeter.footprint`` child of a span that has ended."""
        tracer = self._current_tracer()
        if tracer is None:
            return
        attrs = footprint_attributes(call, fp, error, False, False)
        if fp is not None:
            fill_missing(attrs, None, call, fp)
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
        made = instruments()
        b = self.bounds.bound
        attrs = {
            sc.ATTR_TEAM: b(sc.LABEL_TEAM, fp.team),
            sc.GEN_AI_PROVIDER_NAME: b(sc.LABEL_PROVIDER, provider_name(fp.provider)),
            sc.GEN_AI_REQUEST_MODEL: b(sc.LABEL_MODEL, fp.model),
            sc.GEN_AI_OPERATION_NAME: b(sc.LABEL_OPERATION, operation_name(fp.operation)),
        }
        joules = fp.energy_wh * 3600.0
        made["energy"].add(joules, attrs)
        made["co2e"].add(fp.co2e_g, attrs)
        made["call_energy"].record(joules, attrs)
