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
           "co2e_total_g", "water_ml", "adpe_kgsbeq")


def scaled(fp: Footprint, k: float, low: float, high: float, method: str,
           window: tuple[float, float] = (0.0, 0.0)) -> Footprint:
    """`fp` with every energy-proportional figure multiplied by `k`, its interval set to
    ``k * value * low`` .. ``k * value * high``, `method` and the window."""
    changes: dict[str, Any] = {"method": method, "window_start": window[0],
                                  "window_end": window[1]}
    for name in _SCALED:
        value = getattr(fp, name) * k
        changes[name] = value
        changes[name + "_low"] = value * low
        changes[name + "_high"] = value * high
    return fp._replace(**changes)


def calibrated(fp: Footprint, cal: Calibration) -> Footprint:
    """The estimate `fp` corrected by an endpoint's calibration, ``method="calibrated"``."""
    return scaled(fp, cal.ratio, cal.low, cal.high, "calibrated")


def clear() -> None:
    """Forget every endpoint's calibration (tests; a deployment changed)."""
    RATIOS.clear()
