"""Where measured figures go when a window closes: Prometheus counters of their own, the
budget ledger (as a correction of the provisional estimate), and a linked span.

The counting rule (docs/measured.md): at call time the estimate (or calibrated estimate)
is counted as every call is, provisionally, in ``wattmeter_energy_joules_total``; counters
never go down, so the measurement is not subtracted there but counted in
``wattmeter_measured_energy_joules_total``; the ledger, which sums rows, gets a row of the
difference, so its totals (budgets, reports) are the measured figures. Each is done once
per call, when its last window closes.
"""

from __future__ import annotations

from typing import Any

from .._footprint import Footprint
from .._guard import internal_error

__all__ = ["MeasuredMetrics", "correct_ledger", "linked_span", "metrics_for"]

_shared: dict[int, Any] = {}


class MeasuredMetrics:
    """The measure layer's Prometheus counters on one registry (labels bounded)."""

    def __init__(self, registry: Any = None, max_values: int = 100) -> None:
        from prometheus_client import REGISTRY, Counter

        from ..export._labels import LabelBounds

        reg = registry if registry is not None else REGISTRY
        self.bounds = LabelBounds(max_values)
        self.energy = Counter(
            "wattmeter_measured_energy_joules", "Facility energy of calls on measured "
            "endpoints, from the GPUs' energy counters (the provisional estimate is in "
            "wattmeter_energy_joules_total).", ("team", "provider", "model", "operation"),
            registry=reg)
        self.gpu = Counter(
            "wattmeter_measured_gpu_joules", "GPU energy measured on each endpoint's GPUs "
            "over closed windows (attributed plus idle).", ("endpoint",), registry=reg)
        self.idle = Counter(
            "wattmeter_measured_idle_joules", "GPU energy measured while no call was in "
            "flight, per endpoint (its own line, not in any team's figures).",
            ("endpoint",), registry=reg)
        self.fallbacks = Counter(
            "wattmeter_measure_fallbacks", "Windows (or calls) whose figure stayed the "
            "estimate, or was qualified, by reason.", ("reason",), registry=reg)

    def measured(self, fp: Footprint) -> None:
        b = self.bounds.bound
        self.energy.labels(b("team", fp.team), b("provider", fp.provider),
                           b("model", fp.model), b("operation", fp.operation)).inc(
            _joules(fp.energy_wh * 3600.0))

    def window(self, endpoint: str, measured_j: float, idle_j: float) -> None:
        name = self.bounds.bound("endpoint", endpoint)
        self.gpu.labels(name).inc(_joules(measured_j))
        self.idle.labels(name).inc(_joules(idle_j))

    def fallback(self, reason: str, n: int = 1) -> None:
        self.fallbacks.labels(reason).inc(n)


def metrics_for(registry: Any = None) -> MeasuredMetrics | None:
    """The process' measured counters on `registry` (made once per registry; None when
    prometheus_client is not installed)."""
    try:
        from prometheus_client import REGISTRY
    except ImportError:
        return None
    reg = registry if registry is not None else REGISTRY
    found = _shared.get(id(reg))
    if found is None or found[0] is not reg:
        found = _shared[id(reg)] = (reg, MeasuredMetrics(reg))
    return found[1]


def correct_ledger(measured: Footprint, provisional: Footprint, at: float | None = None
                   ) -> None:
    """Give the budget ledger (if one runs) the difference measured - provisional, booked
    at `at` (the call's end: the minute its provisional row went to)."""
    from ..budget import current_manager

    mgr = current_manager()
    if mgr is not None:
        mgr.correct(measured, provisional, at)


def linked_span(call: Any, fp: Footprint) -> None:
    """A ``wattmeter.footprint`` span carrying the measured figure, linked to the call's
    span (which ended before the window closed); nothing without a recording span."""
    held = getattr(call, "span", None)  # the exporter's record: the adopted or own span
    span = next((c for c in (getattr(held, "inner", None), getattr(held, "span", None), held)
                 if c is not None and hasattr(c, "get_span_context")), None)
    if span is None:
        return
    try:
        from opentelemetry import trace

        from ..export import semconv as sc
        from ..export._genai_attributes import footprint_attributes

        ctx = span.get_span_context()
        if not ctx.is_valid:
            return
        attrs = footprint_attributes(call, fp, None, False, False)
        attrs["wattmeter.window_start"] = fp.window_start
        attrs["wattmeter.window_end"] = fp.window_end
        tracer = trace.get_tracer("wattmeter")
        out = tracer.start_span(sc.FOOTPRINT_SPAN, links=[trace.Link(ctx)], attributes=attrs,
                                context=trace.set_span_in_context(trace.INVALID_SPAN))
        out.end()
    except Exception as exc:
        internal_error("measure.span", exc)


def _joules(x: float) -> float:
    """What a counter may add: `x` when positive, else 0 (``max(nan, 0.0)`` is NaN)."""
    return x if x > 0.0 else 0.0
