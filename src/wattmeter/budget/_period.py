"""Budget periods: a calendar day, week or month in a time zone, or a rolling window.

A calendar period has a start and an end, and thresholds fire once in each. A rolling
window ("30d", "12h") always ends now; its thresholds re-arm when use drops back below.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

__all__ = ["ROLLING_KEY", "Period", "parse_period"]

ROLLING_KEY = "rolling"
_CALENDAR = ("day", "week", "month")
_ALIASES = {"daily": "day", "weekly": "week", "monthly": "month"}
_WINDOW = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(s|m|min|h|d|w)\s*$")
_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

FORM = ("'day', 'week' (Monday to Monday), 'month', or a rolling window such as "
        "'30d', '12h', '90m'")


class Period:
    """One period kind; `bounds(now, tz)` gives the current (start, end) in epoch seconds."""

    __slots__ = ("kind", "seconds", "text")

    def __init__(self, kind: str, seconds: float = 0.0, text: str = "") -> None:
        self.kind = kind  # "day" | "week" | "month" | "rolling"
        self.seconds = seconds
        self.text = text or kind

    @property
    def rolling(self) -> bool:
        """True for a rolling window."""
        return self.kind == "rolling"

    def bounds(self, now: float, tz: tzinfo) -> tuple[float, float]:
        """(start, end) of the period holding `now`; a rolling window is (now - window, now)."""
        if self.kind == "rolling":
            return now - self.seconds, now
        local = datetime.fromtimestamp(now, tz)
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.kind == "day":
            start, end = day, day + timedelta(days=1)
        elif self.kind == "week":
            start = day - timedelta(days=day.weekday())
            end = start + timedelta(days=7)
        else:
            start = day.replace(day=1)
            end = (start.replace(year=start.year + 1, month=1) if start.month == 12
                   else start.replace(month=start.month + 1))
        # Re-attach the zone so a DST change inside the period gives the right offset.
        return _epoch(start, tz), _epoch(end, tz)

    def key(self, start: float) -> str:
        """The name of the period starting at `start`, used to remember fired thresholds."""
        return ROLLING_KEY if self.kind == "rolling" else f"{self.kind}:{int(start)}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Period) and (self.kind, self.seconds) == (other.kind,
                                                                          other.seconds)

    def __hash__(self) -> int:
        return hash((self.kind, self.seconds))

    def __repr__(self) -> str:
        return repr(self.text)


def _epoch(naive_or_aware: datetime, tz: tzinfo) -> float:
    return naive_or_aware.replace(tzinfo=None).replace(tzinfo=tz).timestamp()


def parse_period(value: object) -> Period:
    """A `Period` from 'day'/'week'/'month' or a window like '30d'; ValueError otherwise."""
    if isinstance(value, Period):
        return value
    if not isinstance(value, str):
        raise ValueError(f"got {value!r}; expected {FORM}")
    text = value.strip().lower()
    text = _ALIASES.get(text, text)
    if text in _CALENDAR:
        return Period(text)
    m = _WINDOW.match(text)
    if m is None:
        raise ValueError(f"got {value!r}; expected {FORM}")
    seconds = float(m.group(1)) * _SECONDS[m.group(2)]
    if seconds < 60:
        raise ValueError(f"got {value!r}: a rolling window must be at least one minute; "
                         f"expected {FORM}")
    return Period("rolling", seconds, text)
