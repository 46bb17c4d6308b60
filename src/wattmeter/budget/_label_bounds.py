"""Bounded label values in the ledger: per label and UTC day, the top N values by energy
keep their names and the rest are pooled as ``__other__``.

Label values can be chosen by whoever calls the application (the LiteLLM proxy's
``end_user`` is the client's to set), and every distinct value used to become ledger rows
of its own: 50,000 end users, 50,000 rows. Prometheus labels are capped at their first N
values (`export._labels`); here the N kept are the biggest spenders of the day, so a flood
of one-call values can't push out the ones that matter: a value outside the N is pooled
until its own energy that day (tracked for the 4N most recent such values) passes the
smallest kept value's, which it then replaces from that call on. Values a budget narrows
on are never pooled, so budget queries on the ledger stay exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["OTHER", "LedgerLabelBounds"]

#: The value a label takes in the ledger when it is pooled.
OTHER = "__other__"
_DAY = 86_400


class _Day:
    """One label's values for one day: the kept ones and the candidates, with energy."""

    __slots__ = ("candidates", "floor", "kept")

    def __init__(self) -> None:
        self.kept: dict[str, float] = {}
        self.candidates: dict[str, float] = {}  # insertion order: oldest first
        self.floor: str | None = None  # the kept value with the least energy, when known


class LedgerLabelBounds:
    """Bounds the label values written to the ledger (the caller holds the manager lock)."""

    def __init__(self, max_values: int, exempt: Iterable[tuple[str, str]] = ()) -> None:
        if max_values < 1:
            raise ValueError(f"ledger_max_label_values must be at least 1, not {max_values}")
        self.max_values = max_values
        self.exempt = frozenset(exempt)
        self._day = -1
        self._labels: dict[str, _Day] = {}

    def bound(self, labels: Mapping[str, str], energy_wh: float,
              now: float) -> Mapping[str, str]:
        """`labels` as the ledger stores them: the same mapping when every value is kept,
        else a copy with the pooled ones replaced by `OTHER`."""
        if not labels:
            return labels
        day = int(now // _DAY)
        if day != self._day:
            self._day = day
            self._labels.clear()
        energy = energy_wh if energy_wh > 0.0 else 0.0  # NaN and negatives add nothing
        out: dict[str, str] | None = None
        for name, value in labels.items():
            state = self._labels.get(name)
            if state is not None and value in state.kept:  # the common case, inline
                state.kept[value] += energy
                if value == state.floor:
                    state.floor = None
                continue
            if not self._keep(name, value, energy):
                if out is None:
                    out = dict(labels)
                out[name] = OTHER
        return labels if out is None else out

    def _keep(self, name: str, value: str, energy: float) -> bool:
        state = self._labels.get(name)
        if state is None:
            state = self._labels[name] = _Day()
        kept = state.kept
        if value in kept:
            kept[value] += energy
            if value == state.floor:
                state.floor = None
            return True
        if len(kept) < self.max_values or (name, value) in self.exempt:
            kept[value] = energy
            state.floor = None
            return True
        candidates = state.candidates
        total = candidates.pop(value, 0.0) + energy
        smallest = state.floor
        if smallest is None:  # found again only after the floor value gained or left
            # a value a budget narrows on is never replaced, so it is no floor either
            # (an exempt floor used to keep every other value of the day pooled)
            smallest = state.floor = min(
                (v for v in kept if (name, v) not in self.exempt), key=kept.__getitem__,
                default=None)
        if smallest is not None and total > kept[smallest]:
            del kept[smallest]  # its later calls are pooled; its earlier rows keep its name
            kept[value] = total
            state.floor = None
            return True
        candidates[value] = total  # most recent last
        if len(candidates) > 4 * self.max_values:
            del candidates[next(iter(candidates))]
        return False
