"""The per-call Prometheus metrics as one custom collector: plain sums, one lock per call.

prometheus_client's labelled children take a lock per increment; a metered call touches
eleven of them (about 10 µs). Here a call adds to one list of floats under one lock and
the metric families are built only when Prometheus scrapes; the energy histogram keeps
the trace id of the latest call in each bucket as an OpenMetrics exemplar. Used in
single-process mode; with ``PROMETHEUS_MULTIPROC_DIR`` the exporter keeps
prometheus_client's own metrics (no exemplars), whose values live in the per-process
files the multiprocess collector reads.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from .. import _queue
from .._footprint import Footprint
from .._fork import renew_in_child
from . import semconv as sc
from ._labels import LabelBounds

__all__ = ["CallMetrics", "FileBackedCallMetrics", "bounded", "call_key"]

# Slots of an accumulator list: sums, then one count per histogram bucket (+Inf last),
# then one list of exemplars (span context, joules, time) by bucket.
(_ENERGY, _CO2E, _EMBODIED, _WATER, _ADPE, _CALLS, _T_UNCACHED, _T_CACHED, _T_OUT,
 _T_REASON, _MARKET, _BUCKETS) = range(12)
_TOKEN_SLOTS = (_T_UNCACHED, _T_CACHED, _T_OUT, _T_REASON)
#: (family name without _total, unit, help, accumulator slot) of the plain counters.
_COUNTERS = (
    (sc.PROM_ENERGY, "joules", "Facility energy of generative-AI calls (estimated or "
     "measured), in joules.", _ENERGY),
    (sc.PROM_CO2E, "grams", "Usage (operational, location-based) CO2-equivalent emissions "
     "of generative-AI calls, in grams.", _CO2E),
    (sc.PROM_CO2E_EMBODIED, "grams", "Embodied CO2e of generative-AI calls (the hardware's "
     "manufacturing, amortised over its life), in grams.", _EMBODIED),
    (sc.PROM_WATER, "liters", "Water consumed by generative-AI calls (data centre and "
     "electricity generation), in liters.", _WATER),
    (sc.PROM_ADPE, "grams", "Abiotic resource depletion of generative-AI calls, in grams "
     "of antimony equivalent (Sb eq).", _ADPE),
    (sc.PROM_CO2E_MARKET, "grams", "Usage CO2-equivalent emissions of generative-AI calls, "
     "market-based (GHG Protocol Scope 2: the provider's published factor, else the residual "
     "mix, else the location-based factor), in grams.", _MARKET),
)
_TOKENS_HELP = ("Tokens of metered calls by type; the types are disjoint (uncached_input + "
                "cached_input = input, output + reasoning = all output), so they sum.")
_HIST_HELP = "Facility energy of one call, in joules."
#: Raw label keys cached before the cache is cleared (the sums are kept by bounded key).
_CACHE_LIMIT = 10_000


def _base(name: str) -> str:
    """The name prometheus_client wants for a counter: the exposed name without ``_total``."""
    return name[: -len("_total")] if name.endswith("_total") else name


def call_key(fp: Footprint, extra_labels: tuple[str, ...]) -> tuple[str, ...]:
    """The raw label values of a call: team, provider, model, operation, outcome, extras."""
    key: tuple[str, ...] = (fp.team, fp.provider, fp.model, fp.operation, fp.outcome)
    if extra_labels:
        labels = fp.labels
        key += tuple(labels.get(name, "") for name in extra_labels)
    return key


def bounded(bounds: LabelBounds, extra_labels: tuple[str, ...],
            key: tuple[str, ...]) -> tuple[str, ...]:
    """`key` with every value bounded, reordered as the metrics' labels, outcome last."""
    b = bounds.bound
    team, provider, model, operation, outcome, *extra = key
    return (b(sc.LABEL_TEAM, team), b(sc.LABEL_PROVIDER, provider),
            b(sc.LABEL_MODEL, model), b(sc.LABEL_OPERATION, operation),
            *(b(name, v) for name, v in zip(extra_labels, extra, strict=True)),
            b(sc.LABEL_OUTCOME, outcome))


class CallMetrics:
    """Collector of energy, CO2e (usage location- and market-based, embodied), water, ADPe,
    requests, tokens and the per-call energy histogram with its exemplars."""

    def __init__(self, buckets: tuple[float, ...], extra_labels: tuple[str, ...],
                 bounds: LabelBounds) -> None:
        self.buckets = buckets
        self.extra_labels = extra_labels
        self.bounds = bounds
        self.label_names = (sc.LABEL_TEAM, sc.LABEL_PROVIDER, sc.LABEL_MODEL,
                            sc.LABEL_OPERATION, *extra_labels)
        self._width = _BUCKETS + len(buckets) + 1
        #: (bounded labels..., outcome) -> accumulator; bounded, so it only grows so far.
        self._sums: dict[tuple[str, ...], list[Any]] = {}
        #: raw key -> the accumulator of its bounded key (a cache; safe to clear).
        self._index: dict[tuple[str, ...], list[Any]] = {}
        self._lock = threading.Lock()
        renew_in_child(self)  # a fork while another thread counts must not hang the child

    def record(self, fp: Footprint, call: Any = None) -> None:
        """Add one finished call (hot path: a dict lookup, a bisect, one lock)."""
        key = call_key(fp, self.extra_labels)
        acc = self._index.get(key)
        if acc is None:
            acc = self._accumulator(key)
        joules = fp.energy_wh * 3600.0
        slot = bisect_left(self.buckets, joules)
        state = getattr(call, "span", None)  # the span hook's state, when spans are on
        exemplar = None if state is None else _exemplar(state, joules)
        cached, reasoning = fp.cached_input_tokens, fp.reasoning_tokens
        uncached, output = fp.input_tokens - cached, fp.output_tokens - reasoning
        with self._lock:
            acc[_ENERGY] += joules
            acc[_CO2E] += fp.co2e_g
            acc[_EMBODIED] += fp.co2e_embodied_g
            acc[_WATER] += fp.water_ml * 1e-3
            acc[_ADPE] += fp.adpe_kgsbeq * 1e3
            acc[_CALLS] += 1
            acc[_T_UNCACHED] += uncached if uncached > 0 else 0
            acc[_T_CACHED] += cached
            acc[_T_OUT] += output if output > 0 else 0
            acc[_T_REASON] += reasoning
            acc[_MARKET] += fp.co2e_market_g
            acc[_BUCKETS + slot] += 1
            if exemplar is not None:
                acc[-1][slot] = exemplar

    def _accumulator(self, key: tuple[str, ...]) -> list[Any]:
        labels = bounded(self.bounds, self.extra_labels, key)
        with self._lock:
            acc = self._sums.get(labels)
            if acc is None:
                acc = self._sums[labels] = [0.0] * self._width
                acc.append([None] * (len(self.buckets) + 1))
            if len(self._index) >= _CACHE_LIMIT:
                self._index = {}
            self._index[key] = acc
        return acc

    def unregister(self, registry: Any) -> None:
        """Remove these metrics from `registry` (a change of label set rebuilds them)."""
        registry.unregister(self)

    def describe(self) -> Iterator[Any]:
        """No samples at registration time (the registry checks names only)."""
        return iter(self._families({}))

    def collect(self) -> Iterator[Any]:
        """The metric families, summed over outcomes where the metric has no outcome label.

        Queued call records are processed first, so a scrape shows every call finished
        before it.
        """
        _queue.flush()
        with self._lock:
            snapshot = {k: [*v[:-1], list(v[-1])] for k, v in self._sums.items()}
        return iter(self._families(snapshot))

    def _families(self, snapshot: dict[tuple[str, ...], list[Any]]) -> list[Any]:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        names = list(self.label_names)
        counters = [(CounterMetricFamily(_base(name), help_, labels=names, unit=unit), slot)
                    for name, unit, help_, slot in _COUNTERS]
        requests = CounterMetricFamily(_base(sc.PROM_REQUESTS), "Metered generative-AI calls, "
                                       "by outcome.", labels=[*names, sc.LABEL_OUTCOME])
        tokens = CounterMetricFamily(_base(sc.PROM_TOKENS), _TOKENS_HELP,
                                     labels=[*names, sc.LABEL_TYPE])
        hist = HistogramMetricFamily(sc.PROM_CALL_ENERGY, _HIST_HELP, labels=names,
                                     unit="joules")
        merged: dict[tuple[str, ...], list[Any]] = {}
        for key, acc in snapshot.items():
            requests.add_metric([*key], acc[_CALLS])
            total = merged.get(key[:-1])
            if total is None:
                merged[key[:-1]] = acc
                continue
            for i in range(len(acc) - 1):
                total[i] += acc[i]
            for i, ex in enumerate(acc[-1]):  # the latest exemplar of either outcome
                if ex is not None and (total[-1][i] is None or ex[2] > total[-1][i][2]):
                    total[-1][i] = ex
        for base, acc in merged.items():
            labels = list(base)
            for family, slot in counters:
                family.add_metric(labels, acc[slot])
            for kind, slot in zip(sc.TOKEN_TYPES, _TOKEN_SLOTS, strict=True):
                tokens.add_metric([*labels, kind], acc[slot])
            running, cumulative = 0.0, []
            for bound, count, ex in zip((*self.buckets, float("inf")), acc[_BUCKETS:-1],
                                        acc[-1], strict=True):
                running += count
                cumulative.append((_le(bound), running, _to_exemplar(ex)))
            hist.add_metric(labels, cumulative, acc[_ENERGY])
        return [*(family for family, _ in counters), requests, tokens, hist]


def _exemplar(state: Any, joules: float) -> tuple[Any, float, float] | None:
    """(span context, joules, now) of the call's sampled span, or None (no span).

    The ids are formatted at scrape time, not here on the call's thread.
    """
    span = getattr(state, "span", None)
    if span is None:
        return None
    ctx = span.get_span_context()
    if not ctx.trace_flags & 1:  # not sampled (or no trace): nothing to follow
        return None
    return (ctx, joules, time.time())


def _to_exemplar(ex: tuple[Any, float, float] | None) -> Any:
    if ex is None:
        return None
    from prometheus_client.samples import Exemplar

    ctx, joules, at = ex
    return Exemplar({"trace_id": f"{ctx.trace_id:032x}", "span_id": f"{ctx.span_id:016x}"},
                    joules, at)


def _le(bound: float) -> str:
    from prometheus_client.utils import floatToGoString

    return str(floatToGoString(bound))


class FileBackedCallMetrics:
    """The same metrics as prometheus_client's own, for multiprocess mode.

    With ``PROMETHEUS_MULTIPROC_DIR`` set their values live in per-process files that the
    multiprocess collector sums; each increment takes a lock.
    """

    def __init__(self, registry: Any, buckets: tuple[float, ...],
                 extra_labels: tuple[str, ...], bounds: LabelBounds) -> None:
        from prometheus_client import Counter, Histogram

        self.extra_labels = extra_labels
        self.bounds = bounds
        names = (sc.LABEL_TEAM, sc.LABEL_PROVIDER, sc.LABEL_MODEL, sc.LABEL_OPERATION,
                 *extra_labels)
        self.counters = [Counter(_base(name), help_, names, unit=unit, registry=registry)
                         for name, unit, help_, _ in _COUNTERS]
        self.requests = Counter(_base(sc.PROM_REQUESTS), "Metered generative-AI calls, by "
                                "outcome.", (*names, sc.LABEL_OUTCOME), registry=registry)
        self.tokens = Counter(_base(sc.PROM_TOKENS), _TOKENS_HELP, (*names, sc.LABEL_TYPE),
                              registry=registry)
        self.call_energy = Histogram(sc.PROM_CALL_ENERGY, _HIST_HELP, names, unit="joules",
                                     buckets=buckets, registry=registry)
        self._children: dict[tuple[str, ...], tuple[Any, ...]] = {}

    def unregister(self, registry: Any) -> None:
        """Remove these metrics from `registry`."""
        for metric in (*self.counters, self.requests, self.tokens, self.call_energy):
            registry.unregister(metric)

    def record(self, fp: Footprint, call: Any = None) -> None:
        """Count one finished call through the labelled children, bound once per key."""
        key = call_key(fp, self.extra_labels)
        children = self._children.get(key)
        if children is None:
            children = self._bind(key)
        (energy, co2e, embodied, water, adpe, market, requests, t_uncached, t_cached, t_out,
         t_reason, hist) = children
        joules = fp.energy_wh * 3600.0
        energy.inc(joules)
        co2e.inc(fp.co2e_g)
        requests.inc()
        hist.observe(joules)
        cached, reasoning = fp.cached_input_tokens, fp.reasoning_tokens
        for child, amount in ((embodied, fp.co2e_embodied_g), (water, fp.water_ml * 1e-3),
                              (adpe, fp.adpe_kgsbeq * 1e3), (market, fp.co2e_market_g),
                              (t_uncached, max(fp.input_tokens - cached, 0)),
                              (t_cached, cached), (t_out, max(fp.output_tokens - reasoning, 0)),
                              (t_reason, reasoning)):
            if amount:
                child.inc(amount)

    def _bind(self, key: tuple[str, ...]) -> tuple[Any, ...]:
        *base, outcome = bounded(self.bounds, self.extra_labels, key)
        children = (
            *(counter.labels(*base) for counter in self.counters),
            self.requests.labels(*base, outcome),
            *(self.tokens.labels(*base, kind) for kind in sc.TOKEN_TYPES),
            self.call_energy.labels(*base),
        )
        if len(self._children) >= _CACHE_LIMIT:
            self._children = {}
        self._children[key] = children
        return children
