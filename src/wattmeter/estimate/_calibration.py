"""Per-endpoint calibration of estimates by measured energy: pure data and arithmetic.

`RATIOS` maps an endpoint, ``(server address, server port)`` as a call's `Usage` carries
them, to the ratio measured/estimated that the measure layer learned on it (with the low
and high multipliers of that ratio's recent spread). `footprint_for` looks the endpoint up
once per call; an empty table costs one truthiness test. Nothing here does I/O.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .._footprint import Footprint

__all__ = ["RATIOS", "Calibration", "calibrated", "clear", "scaled"]


class Calibration(NamedTuple):
    """Measured/estimated on one endpoint: the robust ratio and its spread as multipliers
    (``low <= 1 <= high``) that bound the calibrated figure."""

    ratio: float
    low: float
    high: float


#: (server address, server port) -> its calibration; written by the measure layer only.
RATIOS: dict[tuple[str | None, int | None], Calibration] = {}

#: Footprint fields proportional to energy, each with its ``_low`` and ``_high``.
_SCALED = ("energy_wh", "accelerator_wh", "server_wh", "co2e_g", "co2e_embodied_g",
           "co2e_total_g", "water_ml", "adpe_kgsbeq", "co2e_market_g")
_F = Footprint._fields
#: Their positions in the tuple (value, low, high), and those of method and the window.
_IDX = tuple((_F.index(n), _F.index(n + "_low"), _F.index(n + "_high")) for n in _SCALED)
_METHOD, _START, _END = _F.index("method"), _F.index("window_start"), _F.index("window_end")
_new = tuple.__new__


def scaled(fp: Footprint, k: float, low: float, high: float, method: str,
           window: tuple[float, float] = (0.0, 0.0)) -> Footprint:
    """`fp` with every energy-proportional figure multiplied by `k`, its interval set to
    ``k * value * low`` .. ``k * value * high``, `method` and the window."""
    v: list[Any] = list(fp)
    for i, i_low, i_high in _IDX:
        x = v[i] * k
        v[i] = x
        v[i_low] = x * low
        v[i_high] = x * high
    v[_METHOD] = method
    v[_START], v[_END] = window
    return _new(Footprint, v)


def calibrated(fp: Footprint, cal: Calibration) -> Footprint:
    """The estimate `fp` corrected by an endpoint's calibration, ``method="calibrated"``."""
    return scaled(fp, cal.ratio, cal.low, cal.high, "calibrated")


def clear() -> None:
    """Forget every endpoint's calibration (tests; a deployment changed)."""
    RATIOS.clear()
