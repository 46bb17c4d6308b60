"""Fleet mode: a budget's use read from Prometheus' HTTP API over the exported counters.

Every replica exports ``wattmeter_energy_joules_total`` / ``wattmeter_co2e_grams_total``
labelled by team, provider, model and operation; Prometheus scrapes them all, so one
PromQL sum is the fleet's use. Label values are escaped, so no team name can change the
query. Each query has one total deadline (connect, send, headers and body together: a
server that trickles bytes is cut off), and an answer that is not a finite, non-negative
number is refused like an unreachable server.
"""

from __future__ import annotations

import base64
import json
import math
import socket
import threading
import time
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from ._budget import Budget
from ._units import ENERGY

__all__ = ["FleetError", "FleetSource", "escape_label_value", "number", "query_for",
           "redact_url", "selector"]

#: Largest answer read from Prometheus (a scalar query answers in a few hundred bytes).
MAX_ANSWER_BYTES = 1 << 20

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


def redact_url(url: str) -> str:
    """`url` safe for logs: scheme and host only (no userinfo, path, query or fragment,
    which may hold a secret), e.g. ``https://hooks.example.com/…``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparsable URL>"
    rest = "/…" if parts.path not in ("", "/") or parts.query or parts.fragment else ""
    return f"{parts.scheme}://{host}{port}{rest}"


def _abort(conn: Any) -> None:
    """Deadline reached: shut the socket so a read blocked on it returns at once."""
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class FleetSource:
    """Reads budget use from one Prometheus server's HTTP API, under a total deadline."""

    def __init__(self, url: str, *, timeout_s: float = 2.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"prometheus_url: got {redact_url(url)!r}; expected an http:// "
                             "or https:// URL such as 'http://prometheus:9090'")
        self.url = url.rstrip("/")
        self.safe_url = redact_url(self.url)
        self.timeout_s = float(timeout_s)
        parts = urlsplit(self.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._https else 80)
        self._path = parts.path.rstrip("/") + "/api/v1/query"
        self._auth = None
        if parts.username is not None:
            cred = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self._auth = "Basic " + base64.b64encode(cred.encode()).decode()

    def _post(self, form: dict[str, str]) -> tuple[int, bytes]:
        """POST `form`; (status, body). Raises TimeoutError past the deadline."""
        import http.client

        deadline = time.monotonic() + self.timeout_s
        conn: http.client.HTTPConnection
        if self._https:
            import ssl

            conn = http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout_s,
                                               context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout_s)
        watchdog = threading.Timer(self.timeout_s, _abort, (conn,))
        watchdog.daemon = True
        watchdog.start()  # a read blocked past the deadline gets its socket shut
        try:
            conn.connect()
            if time.monotonic() >= deadline:
                raise TimeoutError
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "Accept": "application/json", "Connection": "close"}
            if self._auth:
                headers["Authorization"] = self._auth
            conn.request("POST", self._path, urlencode(form), headers)
            resp = conn.getresponse()
            body = resp.read(MAX_ANSWER_BYTES + 1)
            if time.monotonic() >= deadline:
                raise TimeoutError
            return resp.status, body
        except Exception:
            if time.monotonic() >= deadline:
                raise TimeoutError from None
            raise
        finally:
            watchdog.cancel()
            conn.close()

    def data(self, promql: str, at: float | None) -> Any:
        """The ``data`` of Prometheus' answer to `promql` at time `at` (its resultType and
        result, unchecked beyond a successful status); `at` None: Prometheus' own now.

        Raises `FleetError` when Prometheus is unreachable, slower than ``timeout_s`` in
        total, answers an error, too much, or something that is not its JSON.
        """
        try:
            form = {"query": promql}
            if at is not None:
                form["time"] = f"{at:.3f}"
            status, raw = self._post(form)
        except TimeoutError:
            raise FleetError(f"Prometheus at {self.safe_url} gave no full answer within "
                             f"{self.timeout_s:g} s (fleet_timeout_s)") from None
        except Exception as exc:
            raise FleetError(f"Prometheus at {self.safe_url} unreachable: "
                             f"{type(exc).__name__}") from None
        if status != 200:
            raise FleetError(f"Prometheus at {self.safe_url} answered HTTP {status}")
        if len(raw) > MAX_ANSWER_BYTES:
            raise FleetError(f"Prometheus at {self.safe_url} answered more than "
                             f"{MAX_ANSWER_BYTES} bytes")
        try:
            body = json.loads(raw)
            if body.get("status") != "success":
                raise FleetError(f"Prometheus query failed: {str(body.get('error', '?'))[:200]}")
            return body["data"]
        except FleetError:
            raise
        except Exception as exc:
            raise FleetError(f"unexpected answer from Prometheus at {self.safe_url}: "
                             f"{type(exc).__name__}") from None

    def query(self, promql: str, at: float) -> float:
        """The value of a scalar-like PromQL expression at time `at` (0.0 when empty).

        Raises `FleetError` as `data` does, or when the answer holds anything but finite,
        non-negative numbers.
        """
        data = self.data(promql, at)
        try:
            if data["resultType"] == "scalar":
                values = [number(data["result"][1])]
            else:
                values = [number(r["value"][1]) for r in data["result"]]
        except FleetError:
            raise
        except Exception as exc:
            raise FleetError(f"unexpected answer from Prometheus at {self.safe_url}: "
                             f"{type(exc).__name__}") from None
        total = math.fsum(values)
        if not math.isfinite(total):
            raise FleetError(f"Prometheus at {self.safe_url} answered a sum that is not "
                             "finite")
        return total

    def used(self, budget: Budget, since: float, now: float) -> float:
        """The fleet's use of `budget` in [since, now], in the budget's unit (Wh or g)."""
        _, factor = _COUNTERS[budget.metric]
        return self.query(query_for(budget, now - since), now) * factor


def number(text: Any) -> float:
    """A sample value from Prometheus, which must be a finite number >= 0 (counters)."""
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise FleetError(f"Prometheus answered {str(text)[:40]!r}; expected a finite, "
                         "non-negative number (a counter sum)")
    return value
