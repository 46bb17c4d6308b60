"""Fleet mode: a budget's use read from Prometheus' HTTP API over the exported counters.

Every replica exports ``wattmeter_energy_joules_total`` / ``wattmeter_co2e_grams_total``
labelled by team, provider, model and operation; Prometheus scrapes them all, so one
PromQL sum is the fleet's use. Label values are escaped, so no team name can change the
query.
"""

from __future__ import annotations

import math
from typing import Any

from ._budget import Budget
from ._units import ENERGY

__all__ = ["FleetError", "FleetSource", "escape_label_value", "query_for", "selector"]

#: Counter and the factor from its base unit to the budget's unit, per metric.
_COUNTERS = {ENERGY: ("wattmeter_energy_joules_total", 1 / 3600.0),
             "co2e": ("wattmeter_co2e_grams_total", 1.0)}


class FleetError(RuntimeError):
    """Prometheus could not be asked or gave no usable answer."""


def escape_label_value(value: str) -> str:
    """`value` as the inside of a double-quoted PromQL string: \\, \", newlines escaped."""
    out = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def selector(budget: Budget) -> str:
    """The label matchers for a budget: team, plus provider/model/operation if narrowed."""
    pairs = [("team", budget.team)]
    for key in ("provider", "model", "operation"):
        value = getattr(budget, key)
        if value is not None:
            pairs.append((key, value))
    return "{" + ",".join(f'{k}="{escape_label_value(v)}"' for k, v in pairs) + "}"


def query_for(budget: Budget, seconds: float) -> str:
    """PromQL for the budget's use over the last `seconds`, in the counter's base unit.

    Exact per series where it can be, without ``increase()``'s extrapolation:

    - a series present at the window start and never reset inside it: its last value
      minus its value at the start;
    - a series born inside the window (a replica started, or a label combination first
      used) and never reset: its last value, all of which was counted inside the window;
    - a series reset inside the window (a restarted replica that kept its address):
      ``increase()``, which adds across resets (extrapolated by Prometheus).

    What replicas counted after their last scrape is not in Prometheus yet (at most one
    scrape interval); this process adds its own unscraped use locally.
    """
    metric, _ = _COUNTERS[budget.metric]
    d = f"{max(1, math.ceil(seconds))}s"
    s = metric + selector(budget)
    reset = f"resets({s}[{d}]) > 0"
    return (f"(sum(last_over_time({s}[{d}]) - {s} offset {d} unless {reset}) or vector(0))"
            f" + (sum(last_over_time({s}[{d}]) unless {s} offset {d} unless {reset})"
            f" or vector(0))"
            f" + (sum(increase({s}[{d}]) and {reset}) or vector(0))")


def budget_supported(budget: Budget) -> bool:
    """Whether the exported counters carry every label the budget narrows on."""
    return not budget.labels


class FleetSource:
    """Reads budget use from one Prometheus server, through `requests`, with a timeout."""

    def __init__(self, url: str, *, timeout_s: float = 2.0, session: Any = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"prometheus_url: got {url!r}; expected an http:// or https:// "
                             "URL such as 'http://prometheus:9090'")
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._session = session

    def _http(self) -> Any:
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    def query(self, promql: str, at: float) -> float:
        """The value of a scalar-like PromQL expression at time `at` (0.0 when empty)."""
        try:
            resp = self._http().post(f"{self.url}/api/v1/query",
                                     data={"query": promql, "time": f"{at:.3f}"},
                                     timeout=self.timeout_s)
        except Exception as exc:
            raise FleetError(f"Prometheus at {self.url} unreachable: "
                             f"{type(exc).__name__}") from None
        if resp.status_code != 200:
            raise FleetError(f"Prometheus at {self.url} answered HTTP {resp.status_code}")
        try:
            body = resp.json()
            if body.get("status") != "success":
                raise FleetError(f"Prometheus query failed: {body.get('error', '?')}")
            data = body["data"]
            if data["resultType"] == "scalar":
                return float(data["result"][1])
            result = data["result"]
            return float(sum(float(r["value"][1]) for r in result))
        except FleetError:
            raise
        except Exception as exc:
            raise FleetError(f"unexpected answer from Prometheus: {exc!r}") from None

    def used(self, budget: Budget, since: float, now: float) -> float:
        """The fleet's use of `budget` in [since, now], in the budget's unit (Wh or g)."""
        _, factor = _COUNTERS[budget.metric]
        value = self.query(query_for(budget, now - since), now)
        if math.isnan(value):
            return 0.0
        return value * factor
