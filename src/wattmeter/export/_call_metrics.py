"""The per-call Prometheus metrics as one custom collector: plain sums, one lock per call.

prometheus_client's labelled children take a lock per increment; a metered call touches
eight of them (about 8 µs). Here a call adds to one list of floats under one lock and
the metric families are built only when Prometheus scrapes. Used in single-process mode;
with ``PROMETHEUS_MULTIPROC_DIR`` the exporter keeps prometheus_client's own metrics,
whose values live in the per-process files the multiprocess collector reads.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from .._footprint import Footprint
from .._fork import renew_in_child
from . import semconv as sc
from ._labels import LabelBounds

__all__ = ["CallMetrics", "FileBackedCallMetrics", "bounded", "call_key"]

# Slots of an accumulator list: sums, then one count per histogram bucket (+Inf last).
_ENERGY, _CO2E, _CALLS, _T_IN, _T_CACHED, _T_OUT, _T_REASON, _BUCKETS = range(8)
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
    """Collector of energy, CO2e, requests, tokens and the per-call energy histogram."""

    def __init__(self, buckets: tuple[float, ...], extra_labels: tuple[str, ...],
                 bounds: LabelBounds) -> None:
        self.buckets = buckets
        self.extra_labels = extra_labels
        self.bounds = bounds
        self.label_names = (sc.LABEL_TEAM, sc.LABEL_PROVIDER, sc.LABEL_MODEL,
                            sc.LABEL_OPERATION, *extra_labels)
        self._width = _BUCKETS + len(buckets) + 1
        #: (bounded labels..., outcome) -> accumulator; bounded, so it only grows so far.
        self._sums: dict[tuple[str, ...], list[float]] = {}
        #: raw key -> the accumulator of its bounded key (a cache; safe to clear).
        self._index: dict[tuple[str, ...], list[float]] = {}
        self._lock = threading.Lock()
        renew_in_child(self)  # a fork while another thread counts must not hang the child

    def record(self, fp: Footprint) -> None:
        """Add one finished call (hot path: a dict lookup, a bisect, one lock)."""
        key = call_key(fp, self.extra_labels)
        acc = self._index.get(key)
        if acc is None:
            acc = self._accumulator(key)
        joules = fp.energy_wh * 3600.0
        bucket = _BUCKETS + bisect_left(self.buckets, joules)
        with self._lock:
            acc[_ENERGY] += joules
            acc[_CO2E] += fp.co2e_g
            acc[_CALLS] += 1
            acc[_T_IN] += fp.input_tokens
            acc[_T_CACHED] += fp.cached_input_tokens
            acc[_T_OUT] += fp.output_tokens
            acc[_T_REASON] += fp.reasoning_tokens
            acc[bucket] += 1

    def _accumulator(self, key: tuple[str, ...]) -> list[float]:
        labels = bounded(self.bounds, self.extra_labels, key)
        with self._lock:
            acc = self._sums.get(labels)
            if acc is None:
                acc = self._sums[labels] = [0.0] * self._width
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
        """The metric families, summed over outcomes where the metric has no outcome label."""
        with self._lock:
            snapshot = {k: list(v) for k, v in self._sums.items()}
        return iter(self._families(snapshot))

    def _families(self, snapshot: dict[tuple[str, ...], list[float]]) -> list[Any]:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        names = list(self.label_names)
        energy = CounterMetricFamily(_base(sc.PROM_ENERGY), "Facility energy of generative-AI "
                                     "calls (estimated or measured), in joules.", labels=names)
        co2e = CounterMetricFamily(_base(sc.PROM_CO2E), "CO2-equivalent emissions of "
                                   "generative-AI calls, in grams.", labels=names)
        requests = CounterMetricFamily(_base(sc.PROM_REQUESTS), "Metered generative-AI calls, "
                                       "by outcome.", labels=[*names, sc.LABEL_OUTCOME])
        tokens = CounterMetricFamily(_base(sc.PROM_TOKENS), "Tokens of metered calls by type "
                                     "(input includes cached_input; output includes "
                                     "reasoning).", labels=[*names, sc.LABEL_TYPE])
        hist = HistogramMetricFamily(sc.PROM_CALL_ENERGY, "Facility energy of one call, in "
                                     "joules.", labels=names)
        merged: dict[tuple[str, ...], list[float]] = {}
        for key, acc in snapshot.items():
            requests.add_metric([*key], acc[_CALLS])
            total = merged.get(key[:-1])
            if total is None:
                merged[key[:-1]] = list(acc)
            else:
                for i, value in enumerate(acc):
                    total[i] += value
        for base, acc in merged.items():
            labels = list(base)
            energy.add_metric(labels, acc[_ENERGY])
            co2e.add_metric(labels, acc[_CO2E])
            for kind, slot in zip(sc.TOKEN_TYPES, (_T_IN, _T_CACHED, _T_OUT, _T_REASON),
                                  strict=True):
                tokens.add_metric([*labels, kind], acc[slot])
            running, cumulative = 0.0, []
            for bound, count in zip((*self.buckets, float("inf")), acc[_BUCKETS:],
                                    strict=True):
                running += count
                cumulative.append((_le(bound), running))
            hist.add_metric(labels, cumulative, acc[_ENERGY])
        return [energy, co2e, requests, tokens, hist]


def _le(bound: float) -> str:
    from prometheus_client.utils import floatToGoString

    return str(floatToGoString(bound))


class FileBackedCallMetrics:
    """The same metrics as prometheus_client's own, for multiprocess mode.

    With ``PROMETHEUS_MULTIPROC_DIR`` set their values live in per-process files that the
    multiprocess collector sums; each increment takes a lock (about 8 µs a call).
    """

    def __init__(self, registry: Any, buckets: tuple[float, ...],
                 extra_labels: tuple[str, ...], bounds: LabelBounds) -> None:
        from prometheus_client import Counter, Histogram

        self.extra_labels = extra_labels
        self.bounds = bounds
        names = (sc.LABEL_TEAM, sc.LABEL_PROVIDER, sc.LABEL_MODEL, sc.LABEL_OPERATION,
                 *extra_labels)
        self.energy = Counter(_base(sc.PROM_ENERGY), "Facility energy of generative-AI calls "
                              "(estimated or measured), in joules.", names, registry=registry)
        self.co2e = Counter(_base(sc.PROM_CO2E), "CO2-equivalent emissions of generative-AI "
                            "calls, in grams.", names, registry=registry)
        self.requests = Counter(_base(sc.PROM_REQUESTS), "Metered generative-AI calls, by "
                                "outcome.", (*names, sc.LABEL_OUTCOME), registry=registry)
        self.tokens = Counter(_base(sc.PROM_TOKENS), "Tokens of metered calls by type (input "
                              "includes cached_input; output includes reasoning).",
                              (*names, sc.LABEL_TYPE), registry=registry)
        self.call_energy = Histogram(sc.PROM_CALL_ENERGY, "Facility energy of one call, in "
                                     "joules.", names, buckets=buckets, registry=registry)
        self._children: dict[tuple[str, ...], tuple[Any, ...]] = {}

    def unregister(self, registry: Any) -> None:
        """Remove these metrics from `registry`."""
        for metric in (self.energy, self.co2e, self.requests, self.tokens, self.call_energy):
            registry.unregister(metric)

    def record(self, fp: Footprint) -> None:
        """Count one finished call through the labelled children, bound once per key."""
        key = call_key(fp, self.extra_labels)
        children = self._children.get(key)
        if children is None:
            children = self._bind(key)
        energy, co2e, requests, t_in, t_cached, t_out, t_reason, hist = children
        joules = fp.energy_wh * 3600.0
        energy.inc(joules)
        co2e.inc(fp.co2e_g)
        requests.inc()
        hist.observe(joules)
        for child, count in ((t_in, fp.input_tokens), (t_cached, fp.cached_input_tokens),
                             (t_out, fp.output_tokens), (t_reason, fp.reasoning_tokens)):
            if count:
                child.inc(count)

    def _bind(self, key: tuple[str, ...]) -> tuple[Any, ...]:
        *base, outcome = bounded(self.bounds, self.extra_labels, key)
        children = (
            self.energy.labels(*base),
            self.co2e.labels(*base),
            self.requests.labels(*base, outcome),
            *(self.tokens.labels(*base, kind) for kind in sc.TOKEN_TYPES),
            self.call_energy.labels(*base),
        )
        if len(self._children) >= _CACHE_LIMIT:
            self._children = {}
        self._children[key] = children
        return children
