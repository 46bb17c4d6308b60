"""Measured energy where the GPUs are yours: DCGM counters (through Prometheus, or scraped
directly) attributed to the calls that ran on them, estimates calibrated by it, and NVML
read around in-process calls. See docs/measured.md.

Layer 4, beside ``budget/`` and ``export/``: it reads Prometheus, so nothing here runs on
the caller's thread but two dict operations per call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._attribute import Share, Split, split
from ._attributor import Attributor, WindowResult
from ._endpoints import Endpoint
from ._series import REASONS, Fallback, Series
from ._sources import ENERGY, POWER, PrometheusSource, ScrapeSource

__all__ = ["ENERGY", "POWER", "REASONS", "Attributor", "Endpoint", "Fallback",
           "PrometheusSource", "ScrapeSource", "Series", "Share", "Split", "WindowResult",
           "split", "start"]


def start(endpoints: Sequence[Endpoint | Any], *, prometheus_url: str | None = None,
          exporter_url: str | None = None, window_s: float = 60.0, timeout_s: float = 2.0,
          max_skew_s: float = 2.0, spread_idle: bool = False, calibrate: bool = True,
          registry: Any = None, **options: Any) -> Attributor:
    """Start measured attribution for `endpoints`, reading Prometheus at `prometheus_url`
    (or scraping one DCGM exporter at `exporter_url` when there is no Prometheus).

    Returns the running `Attributor`; ``stop()`` it to end. Prometheus metrics go to
    `registry` (default: prometheus_client's) when prometheus_client is installed.
    """
    if (prometheus_url is None) == (exporter_url is None):
        raise ValueError("measure.start(): give exactly one of prometheus_url= (e.g. "
                         "'http://prometheus:9090') or exporter_url= (a DCGM exporter's "
                         "/metrics URL)")
    source: Any
    if prometheus_url is not None:
        source = PrometheusSource(prometheus_url, timeout_s=timeout_s, max_skew_s=max_skew_s)
    else:
        source = ScrapeSource(str(exporter_url), timeout_s=timeout_s).start()
    from ._outputs import metrics_for

    metrics = metrics_for(registry)
    return Attributor(source, endpoints, window_s=window_s, spread_idle=spread_idle,
                      calibrate=calibrate, metrics=metrics, **options).start()
