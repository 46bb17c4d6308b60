"""Prometheus metrics for every metered call, budget gauges and wattmeter's own errors.

`exporter(config)` returns the process-wide exporter of a registry; its `record()` is on
the hot path, so the labelled children of each (team, provider, model, operation, outcome)
are bound once and cached: a finished call costs one dict lookup and a few increments.
Names and units: `semconv` (base units: joules, grams, liters; one unit per metric).
"""

from __future__ import annotations

import threading
from typing import Any

from .. import _config, _guard
from .._footprint import Footprint
from .._version import __version__
from . import _multiprocess
from . import semconv as sc
from ._call_metrics import CallMetrics, FileBackedCallMetrics, _base
from ._labels import LabelBounds

__all__ = [
    "ENERGY_BUCKETS_J",
    "Exporter",
    "count_error",
    "exporter",
    "mark_process_dead",
    "metrics_server",
    "set_budget_status",
]

#: Per-call energy buckets in joules, 0.01 J (a short embedding) to 30 MJ (8.3 kWh, beyond
#: a long high-resolution video), so only a runaway call lands in +Inf.
ENERGY_BUCKETS_J = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1e3, 3e3,
                    1e4, 3e4, 1e5, 3e5, 1e6, 3e6, 1e7, 3e7)
_BUDGET_LABELS = (sc.LABEL_TEAM, sc.LABEL_BUDGET)
_UNITS = sc.BUDGET_UNITS
#: (name, help) of the budget gauges in a unit; each exists once per unit (name_<unit>).
_BUDGET_GAUGES = (
    (sc.PROM_BUDGET_LIMIT, "Budget limit for the period, in {unit}."),
    (sc.PROM_BUDGET_USED, "Consumed so far this period, in {unit}."),
    (sc.PROM_BUDGET_REMAINING, "Left this period (never below 0), in {unit}."),
    (sc.PROM_BUDGET_FORECAST, "Projected consumption at the end of the period at the "
     "current burn rate, in {unit}."),
)

_exporters: dict[int, Exporter] = {}
_lock = threading.Lock()
_hooked = {"errors": False}


class Exporter:
    """The wattmeter metrics of one registry; `record(fp, call)` counts one finished call."""

    def __init__(self, registry: Any, extra_labels: tuple[str, ...], max_values: int) -> None:
        self.registry = registry
        self.bounds = LabelBounds(max_values)
        self.extra_labels = extra_labels
        self._build()

    def _build(self) -> None:
        from prometheus_client import Counter, Gauge

        reg = self.registry
        self.calls: CallMetrics | FileBackedCallMetrics
        if _multiprocess.enabled():  # values must live in the per-process files
            self.calls = FileBackedCallMetrics(reg, ENERGY_BUCKETS_J, self.extra_labels,
                                               self.bounds)
        else:  # one custom collector: a call costs one lock, not eight
            self.calls = CallMetrics(ENERGY_BUCKETS_J, self.extra_labels, self.bounds)
            reg.register(self.calls)
        if not hasattr(self, "errors"):  # these survive a change of metric_labels
            self.errors = Counter(_base(sc.PROM_ERRORS), "wattmeter's own internal errors "
                                  "(metering skipped, calls unaffected), by place.",
                                  (sc.LABEL_WHERE,), registry=reg)
            self.dropped = Counter(_base(sc.PROM_DROPPED), "Metered calls not counted "
                                   "because wattmeter's record queue was full, by reason.",
                                   (sc.LABEL_REASON,), registry=reg)
            info = Gauge(sc.PROM_BUILD_INFO, "wattmeter version (always 1).",
                         (sc.LABEL_VERSION,), registry=reg, multiprocess_mode="max")
            info.labels(__version__).set(1)
            self.budget = {  # one gauge per unit, so no sum mixes joules with grams
                (name, unit): Gauge(f"{name}_{unit}", help_.format(unit=unit), _BUDGET_LABELS,
                                    unit=unit, registry=reg, multiprocess_mode="mostrecent")
                for name, help_ in _BUDGET_GAUGES for unit in _UNITS
            }
            self.ratios = {
                name: Gauge(name, help_, _BUDGET_LABELS, registry=reg,
                            multiprocess_mode="mostrecent")
                for name, help_ in (
                    (sc.PROM_BUDGET_USED_RATIO, "used / limit (1 = exhausted)."),
                    (sc.PROM_BUDGET_FORECAST_RATIO, "forecast / limit (above 1: on course "
                     "to exceed the budget this period)."),
                )
            }

    def configure(self, config: Any) -> None:
        """Apply `max_label_values` and `metric_labels`; a new label set rebuilds the metrics."""
        self.bounds.max_values = int(config.max_label_values)
        extra = tuple(getattr(config, "metric_labels", ()) or ())
        if extra != self.extra_labels:  # counters restart; rate() handles resets
            self.calls.unregister(self.registry)
            self.extra_labels = extra
            self._build()

    def record(self, fp: Footprint, call: Any = None) -> None:
        """Count one finished call (hot path: no I/O; one lock in single-process mode).

        `call`'s sampled span, if any, becomes the trace-id exemplar of its histogram bucket.
        """
        self.calls.record(fp, call)

    def set_budget(self, team: str, budget: str, unit: str, limit: float, used: float,
                   forecast: float) -> None:
        """Set the six gauges of one budget: four in its unit, two ratios."""
        b = self.bounds.bound
        labels = (b(sc.LABEL_TEAM, team), b(sc.LABEL_BUDGET, budget))
        g = self.budget
        g[sc.PROM_BUDGET_LIMIT, unit].labels(*labels).set(limit)
        g[sc.PROM_BUDGET_USED, unit].labels(*labels).set(used)
        g[sc.PROM_BUDGET_REMAINING, unit].labels(*labels).set(max(limit - used, 0.0))
        g[sc.PROM_BUDGET_FORECAST, unit].labels(*labels).set(forecast)
        self.ratios[sc.PROM_BUDGET_USED_RATIO].labels(*labels).set(used / limit)
        self.ratios[sc.PROM_BUDGET_FORECAST_RATIO].labels(*labels).set(forecast / limit)

    def count_error(self, where: str) -> None:
        """Count one internal error at `where`."""
        self.errors.labels(self.bounds.bound(sc.LABEL_WHERE, where)).inc()

    def count_drop(self, reason: str, n: int = 1) -> None:
        """Count `n` call records dropped for `reason`."""
        self.dropped.labels(self.bounds.bound(sc.LABEL_REASON, reason)).inc(n)


def exporter(config: Any = None, registry: Any = None) -> Exporter:
    """The process-wide exporter of `registry` (default: prometheus_client's REGISTRY).

    Calling it again (``configure()`` rewires often) returns the same exporter with the new
    configuration applied, and starts, moves or stops the /metrics server as configured.
    """
    cfg = config if config is not None else _config.current()
    if registry is None:
        from prometheus_client import REGISTRY

        reg: Any = REGISTRY
    else:
        reg = registry
    ex = _exporters.get(id(reg))
    if ex is None:
        with _lock:
            ex = _exporters.get(id(reg))
            if ex is None:
                ex = Exporter(reg, tuple(getattr(cfg, "metric_labels", ()) or ()),
                              int(cfg.max_label_values))
                for where, n in _guard.error_counts.items():  # errors before we existed
                    ex.errors.labels(ex.bounds.bound(sc.LABEL_WHERE, where)).inc(n)
                for reason, n in _guard.drop_counts.items():  # and drops
                    ex.count_drop(reason, n)
                _exporters[id(reg)] = ex
                if not _hooked["errors"]:
                    _hooked["errors"] = True
                    _guard.on_error(count_error)
                    _guard.on_drop(_count_drop)
    ex.configure(cfg)
    if registry is None:
        from . import _server

        _server.apply(cfg.metrics_host, cfg.metrics_port, reg)
    return ex


def set_budget_status(team: str, budget: str, unit: str, limit: float, used: float,
                      forecast: float, registry: Any = None) -> None:
    """Publish one budget's state as the ``wattmeter_budget_*`` gauges.

    `unit` is "joules" or "grams"; `limit`, `used` and `forecast` are in that unit and go
    to the gauges named after it (``wattmeter_budget_used_joules``, ...); `forecast` is the
    projected consumption at the end of the period.
    """
    if unit not in _UNITS:
        raise ValueError(f"set_budget_status(unit=...): got {unit!r}; expected 'joules' or "
                         "'grams' (values in base units)")
    for name, value in (("limit", limit), ("used", used), ("forecast", forecast)):
        if not isinstance(value, (int, float)) or value != value or value < 0:
            raise ValueError(f"set_budget_status({name}=...): got {value!r}; expected a "
                             "number >= 0")
    if limit <= 0:
        raise ValueError(f"set_budget_status(limit=...): got {limit!r}; expected a number > 0")
    exporter(None, registry).set_budget(team, budget, unit, float(limit), float(used),
                                        float(forecast))


def count_error(where: str, registry: Any = None) -> None:
    """Count one wattmeter internal error in ``wattmeter_errors_total{where}``.

    Hooked to `_guard.on_error`; without `registry` every live exporter counts it.
    """
    if registry is not None:
        exporter(None, registry).count_error(where)
        return
    for ex in list(_exporters.values()):
        ex.count_error(where)


def _count_drop(reason: str, n: int) -> None:
    for ex in list(_exporters.values()):
        ex.count_drop(reason, n)


def mark_process_dead(pid: int) -> None:
    """Tell multiprocess mode that worker `pid` has exited, so its live gauges are dropped.

    Call it from gunicorn's ``child_exit(server, worker)`` hook with ``worker.pid`` when
    ``PROMETHEUS_MULTIPROC_DIR`` is set; its counters stay in the sum.
    """
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        raise ValueError(f"mark_process_dead(pid=...): got {pid!r}; expected a process id > 0")
    _multiprocess.mark_process_dead(pid)


def metrics_server() -> Any:
    """The running /metrics server (``.host``, ``.port``, ``.url``) or None."""
    from . import _server

    return _server.current()

