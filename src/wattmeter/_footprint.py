"""The immutable per-call record every layer passes around.

`Footprint` is a `NamedTuple` rather than a frozen dataclass: building one is a single
C-level tuple allocation, which keeps a metered call within a few microseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

__all__ = ["EMPTY_LABELS", "INTERVAL", "Footprint"]

EMPTY_LABELS: Mapping[str, str] = MappingProxyType({})

#: The percentiles that ``*_low`` and ``*_high`` bound (documented in docs/methodology.md).
INTERVAL = (5, 95)


class Footprint(NamedTuple):
    """Energy and CO2e of one generative call, with its interval and its assumptions.

    Boundaries: ``accelerator_wh`` is GPU/TPU energy; ``server_wh`` adds host CPU, memory,
    networking and idle reserved capacity; ``energy_wh`` is the facility figure
    (``server_wh`` x ``pue``) and is what metrics and spans report. ``*_low``/``*_high``
    are the 5th and 95th percentiles over what is unknown about the call.
    """

    provider: str
    model: str
    operation: str
    team: str
    labels: Mapping[str, str]
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    reasoning_tokens: int
    energy_wh: float
    energy_wh_low: float
    energy_wh_high: float
    accelerator_wh: float
    accelerator_wh_low: float
    accelerator_wh_high: float
    server_wh: float
    server_wh_low: float
    server_wh_high: float
    co2e_g: float
    co2e_g_low: float
    co2e_g_high: float
    grid_zone: str
    grid_gco2e_per_kwh: float
    pue: float
    method: str = "estimated"
    warnings: tuple[str, ...] = ()
    outcome: str = "ok"
    registry_model: str | None = None
    response_model: str | None = None
    timestamp: float = 0.0
    # Life-cycle impacts (issue 10; docs/methodology.md says what each bounds).
    # ``co2e_g`` above is the usage (operational, location-based) CO2e; these add the
    # hardware's embodied share, their sum, water and abiotic depletion.
    co2e_embodied_g: float = 0.0
    co2e_embodied_g_low: float = 0.0
    co2e_embodied_g_high: float = 0.0
    co2e_total_g: float = 0.0
    co2e_total_g_low: float = 0.0
    co2e_total_g_high: float = 0.0
    water_ml: float = 0.0
    water_ml_low: float = 0.0
    water_ml_high: float = 0.0
    adpe_kgsbeq: float = 0.0
    adpe_kgsbeq_low: float = 0.0
    adpe_kgsbeq_high: float = 0.0
    # Serving regime (issue 17; docs/regimes.md): "provider", "tuned" or "naive"; the
    # boundary ``energy_wh`` counts ("comprehensive": a provider fleet's accelerators,
    # hosts, idle reserved machines and PUE; "facility": server energy x PUE); and the
    # estimation method's version (`wattmeter._version.METHOD_VERSION`).
    regime: str = ""
    boundary: str = "facility"
    method_version: str = ""
    # Measured and calibrated figures (issue 22; docs/measured.md): the energy-counter
    # window the figure comes from (Unix seconds; 0.0 for an estimate).
    window_start: float = 0.0
    window_end: float = 0.0
    # Market-based CO2e (GHG Protocol Scope 2) beside the location-based ``co2e_g``: the same
    # facility energy times the provider's published factor, else the residual mix, else the
    # location-based factor (docs/grid.md). The range is the energy's range.
    co2e_market_g: float = 0.0
    co2e_market_g_low: float = 0.0
    co2e_market_g_high: float = 0.0
    grid_market_gco2e_per_kwh: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready dict of every field (labels and warnings copied)."""
        d = self._asdict()
        d["labels"] = dict(self.labels)
        d["warnings"] = list(self.warnings)
        return d
