"""Bounded label values: at most N distinct values per label, then ``__overflow__``.

A bug that puts a request id in a team name must not explode Prometheus' cardinality;
the first N values seen keep their names, later ones are pooled. Values are also made
valid UTF-8 and cut to `_text.MAX_LABEL_CHARS`, so one hostile team name can't make
``/metrics`` fail to encode for the whole process.
"""

from __future__ import annotations

import threading

from .._fork import renew_in_child
from .._text import clean
from .semconv import OVERFLOW

__all__ = ["LabelBounds"]


class LabelBounds:
    """Remembers the distinct values seen per label and pools values past the limit."""

    def __init__(self, max_values: int) -> None:
        self.max_values = max_values
        self._seen: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        renew_in_child(self)  # a fork while another thread counts must not hang the child

    def bound(self, label: str, value: str) -> str:
        """`value` if it is known or there is room for it, else ``__overflow__``."""
        seen = self._seen.get(label)
        if seen is not None and value in seen:
            return value
        value = clean(value if isinstance(value, str) else str(value))
        with self._lock:  # only on the first sight of a value
            seen = self._seen.setdefault(label, set())
            if value in seen:
                return value
            if len(seen) >= self.max_values:
                return OVERFLOW
            seen.add(value)
            return value

    def overflowed(self, label: str) -> bool:
        """True once `label` has reached its limit (new values now pool)."""
        return len(self._seen.get(label, ())) >= self.max_values
