"""Learning each endpoint's measured/estimated ratio: a decaying weighted median.

Every closed window gives one ratio (energy attributed to the endpoint's calls over their
raw estimate inside the window). The calibration is the weighted median of the last
`HISTORY` windows, each weighted ``0.5 ** (age / half_life)`` (age in windows, newest 0),
so one odd window moves it little and a changed deployment takes over within a few
half-lives. Its range is the weighted 10th to 90th percentile of the same ratios,
widened to at least the per-call attribution spread. The result is published to the
estimate layer's table (`estimate._calibration.RATIOS`).
"""

from __future__ import annotations

from collections import deque

from ..estimate._anchor import weighted_percentile as weighted_quantile
from ..estimate._calibration import RATIOS, Calibration

__all__ = ["HISTORY", "MEASURED_SPREAD", "Learner", "weighted_quantile"]

#: Windows kept per endpoint.
HISTORY = 32
#: Per-call interval of a measured figure, as multipliers (low, high): the 5th and 95th
#: percentiles of per-request attributed/true energy measured by
#: benchmarks/measured_attribution.py on the simulator (2026; docs/measured.md). An
#: assumption outside the simulator.
MEASURED_SPREAD = (0.70, 1.80)


class Learner:
    """Ratios per endpoint key and the calibration they give."""

    def __init__(self, half_life: float = 8.0) -> None:
        if isinstance(half_life, bool) or not isinstance(half_life, (int, float)) or not (
                0 < half_life < 1e6):  # NaN and infinity fail too
            raise ValueError(f"half_life: got {half_life!r}; expected a number of windows "
                             "above 0 (default 8)")
        self.half_life = float(half_life)
        self.history: dict[tuple[str | None, int | None], deque[float]] = {}

    def learn(self, key: tuple[str | None, int | None], ratio: float) -> Calibration:
        """Add one window's ratio for `key`, publish and return the new calibration."""
        h = self.history.setdefault(key, deque(maxlen=HISTORY))
        h.append(ratio)
        values = list(h)
        n = len(values)
        weights = [0.5 ** ((n - 1 - i) / self.half_life) for i in range(n)]
        mid = weighted_quantile(values, weights, 0.5)
        lo = weighted_quantile(values, weights, 0.1) / mid if mid > 0 else 1.0
        hi = weighted_quantile(values, weights, 0.9) / mid if mid > 0 else 1.0
        cal = Calibration(mid, min(lo, MEASURED_SPREAD[0]), max(hi, MEASURED_SPREAD[1]))
        RATIOS[key] = cal
        return cal

    def forget(self) -> None:
        """Drop the learned ratios and unpublish them."""
        for key in self.history:
            RATIOS.pop(key, None)
        self.history.clear()
