"""`Budget`: a team's energy or CO2e allowance per period, and its validation.

Budgets come from code (`Budget(...)`) or configuration tables (TOML, env JSON); both go
through the same checks, so a typo fails at `configure()` with the budget, the field and
the valid form named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._period import Period, parse_period
from ._units import CO2E, ENERGY, format_amount, parse_limit

__all__ = ["ACTIONS", "DEFAULT_ACTIONS", "DEFAULT_THRESHOLDS", "Budget", "parse_budgets"]

ACTIONS = ("metrics", "log", "callback", "webhook", "raise")
DEFAULT_ACTIONS = ("metrics", "log")
DEFAULT_THRESHOLDS = (0.5, 0.8, 1.0)
_FIELDS = ("team", "limit", "limit_wh", "limit_co2e_g", "period", "labels", "provider",
           "model", "operation", "actions", "thresholds", "callback", "webhook_url", "name")


class Budget:
    """An energy (Wh) or CO2e (g) limit for one team per period, optionally narrowed.

    Give exactly one of ``limit_wh``, ``limit_co2e_g`` or ``limit`` ("5 kWh", "20 kgCO2e").
    ``labels``, ``provider``, ``model`` and ``operation`` narrow which calls count.
    ``actions`` choose what happens at each threshold (fractions of the limit); only
    ``"raise"`` refuses calls, with `BudgetExceededError`, once the limit is reached.
    """

    __slots__ = ("actions", "callback", "labels", "limit", "metric", "model", "name",
                 "operation", "period", "provider", "team", "thresholds", "webhook_url")

    def __init__(self, team: str, *, limit_wh: float | None = None,
                 limit_co2e_g: float | None = None, limit: str | float | None = None,
                 period: str | Period = "month", labels: Mapping[str, str] | None = None,
                 provider: str | None = None, model: str | None = None,
                 operation: str | None = None, actions: Iterable[str] = DEFAULT_ACTIONS,
                 thresholds: Iterable[float] = DEFAULT_THRESHOLDS,
                 callback: Callable[[Any], Any] | None = None,
                 webhook_url: str | None = None, name: str | None = None) -> None:
        where = f"Budget(team={team!r})"
        if not isinstance(team, str) or not team:
            raise ValueError(f"Budget: team: got {team!r}; expected a non-empty string")
        self.team = team
        given = [k for k, v in (("limit_wh", limit_wh), ("limit_co2e_g", limit_co2e_g),
                                ("limit", limit)) if v is not None]
        if len(given) != 1:
            raise ValueError(f"{where}: give exactly one of limit_wh=, limit_co2e_g= or "
                             f"limit= ('5 kWh', '20 kgCO2e'); got {given or 'none'}")
        if limit is not None:
            if isinstance(limit, str):
                try:
                    self.metric, self.limit = parse_limit(limit)
                except ValueError as exc:
                    raise ValueError(f"{where}: limit: {exc}") from None
            else:
                raise ValueError(f"{where}: limit: got {limit!r}; a bare number has no "
                                 "unit: write limit='5 kWh', or use limit_wh=/limit_co2e_g=")
        else:
            self.metric = ENERGY if limit_wh is not None else CO2E
            raw = limit_wh if limit_wh is not None else limit_co2e_g
            self.limit = _positive(where, given[0], raw)
        if not self.limit > 0:
            raise ValueError(f"{where}: limit: got {self.limit!r}; expected a positive amount")
        try:
            self.period = parse_period(period)
        except ValueError as exc:
            raise ValueError(f"{where}: period: {exc}") from None
        self.labels = _labels(where, labels)
        self.provider = _opt_str(where, "provider", provider)
        self.model = _opt_str(where, "model", model)
        self.operation = _opt_str(where, "operation", operation)
        self.actions = _actions(where, actions)
        self.thresholds = _thresholds(where, thresholds)
        if callback is not None and not callable(callback):
            raise ValueError(f"{where}: callback: got {callback!r}; expected a callable "
                             "taking one BudgetEvent")
        if "callback" in self.actions and callback is None:
            raise ValueError(f"{where}: actions include 'callback' but callback= is not set")
        self.callback = callback
        self.webhook_url = _opt_str(where, "webhook_url", webhook_url)
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ValueError(f"{where}: webhook_url: got {webhook_url!r}; expected an "
                             "http:// or https:// URL")
        self.name = _opt_str(where, "name", name) or self._default_name()

    @property
    def limit_wh(self) -> float | None:
        """The limit in watt-hours, or None for a CO2e budget."""
        return self.limit if self.metric == ENERGY else None

    @property
    def limit_co2e_g(self) -> float | None:
        """The limit in grams of CO2e, or None for an energy budget."""
        return self.limit if self.metric == CO2E else None

    @property
    def unit(self) -> str:
        """'Wh' or 'gCO2e': the unit of `limit` and of the use compared with it."""
        return "Wh" if self.metric == ENERGY else "gCO2e"

    def _default_name(self) -> str:
        parts = [self.team, self.period.text, self.metric]
        for key in ("provider", "model", "operation"):
            value = getattr(self, key)
            if value:
                parts.append(f"{key}={value}")
        parts.extend(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return "/".join(parts)

    def to_table(self) -> dict[str, Any]:
        """A JSON/TOML-ready form that `parse_budgets` reads back (the callback is dropped)."""
        table: dict[str, Any] = {"team": self.team, "name": self.name,
                                 "period": self.period.text,
                                 "thresholds": list(self.thresholds),
                                 "actions": [a for a in self.actions if a != "callback"]}
        table["limit_wh" if self.metric == ENERGY else "limit_co2e_g"] = self.limit
        for key in ("provider", "model", "operation", "webhook_url"):
            if getattr(self, key) is not None:
                table[key] = getattr(self, key)
        if self.labels:
            table["labels"] = dict(self.labels)
        return table

    def applies(self, labels: Mapping[str, str], provider: str, model: str,
                operation: str) -> bool:
        """Whether a call of this budget's team with these attributes counts against it."""
        if self.provider is not None and provider != self.provider:
            return False
        if self.model is not None and model != self.model:
            return False
        if self.operation is not None and operation != self.operation:
            return False
        for key, value in self.labels.items():
            if labels.get(key) != value:
                return False
        return True

    def _key(self) -> tuple[Any, ...]:
        return (self.team, self.metric, self.limit, self.period, tuple(sorted(
            self.labels.items())), self.provider, self.model, self.operation, self.actions,
            self.thresholds, self.callback, self.webhook_url, self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Budget) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key()[:4])

    def __repr__(self) -> str:
        return (f"Budget(team={self.team!r}, limit={format_amount(self.metric, self.limit)!r}, "
                f"period={self.period.text!r}, name={self.name!r})")


def _positive(where: str, field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: {field}: got {value!r}; expected a positive number")
    return float(value)


def _opt_str(where: str, field: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {field}: got {value!r}; expected a non-empty string")
    return value.strip()


def _labels(where: str, labels: Any) -> dict[str, str]:
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise ValueError(f"{where}: labels: got {labels!r}; expected a mapping such as "
                         "{'feature': 'autocomplete'}")
    out = {}
    for key, value in labels.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"{where}: labels: name {key!r} must be an identifier")
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ValueError(f"{where}: labels: {key}={value!r}; expected a string value")
        out[key] = str(value)
    return out


def _actions(where: str, actions: Any) -> tuple[str, ...]:
    if isinstance(actions, str):
        actions = [a.strip() for a in actions.split(",") if a.strip()]
    if not isinstance(actions, Iterable):
        raise ValueError(f"{where}: actions: got {actions!r}; expected a list of "
                         + ", ".join(map(repr, ACTIONS)))
    out = tuple(actions)
    for a in out:
        if a not in ACTIONS:
            raise ValueError(f"{where}: actions: unknown action {a!r}; expected any of "
                             + ", ".join(map(repr, ACTIONS)))
    return out


def _thresholds(where: str, thresholds: Any) -> tuple[float, ...]:
    try:
        values = sorted({float(t) for t in thresholds})
    except (TypeError, ValueError):
        values = []
    if not values or any(isinstance(t, bool) for t in thresholds) or any(
            not 0 < t <= 10 for t in values):
        raise ValueError(f"{where}: thresholds: got {thresholds!r}; expected fractions of "
                         "the limit such as (0.5, 0.8, 1.0)")
    return tuple(values)


def parse_budgets(value: Any) -> list[Budget]:
    """Budgets from `Budget` objects and/or mappings (TOML tables, JSON text from the env)."""
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("wattmeter option 'budgets': not valid JSON; expected a list "
                             "of tables such as [{\"team\": \"search\", \"limit\": \"5 kWh\", "
                             "\"period\": \"day\"}]") from None
    if isinstance(value, (Budget, Mapping)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"wattmeter option 'budgets': got {value!r}; expected a list of "
                         "Budget objects or tables")
    out: list[Budget] = []
    for i, item in enumerate(value):
        if isinstance(item, Budget):
            out.append(item)
            continue
        if not isinstance(item, Mapping):
            raise ValueError(f"wattmeter option 'budgets': item {i} is {item!r}; expected a "
                             "Budget or a table with team, limit and period")
        unknown = sorted(set(item) - set(_FIELDS))
        if unknown:
            raise ValueError(f"budget {i} (team={item.get('team')!r}): unknown field "
                             f"{unknown[0]!r}; valid fields: {', '.join(_FIELDS)}")
        if "team" not in item:
            raise ValueError(f"budget {i}: team: missing; every budget names its team")
        fields = dict(item)
        if isinstance(fields.get("limit"), (int, float)) and not isinstance(
                fields.get("limit"), bool):
            raise ValueError(f"budget {i} (team={item['team']!r}): limit: got "
                             f"{fields['limit']!r}; write it with a unit, e.g. '5 kWh'")
        team = fields.pop("team")
        out.append(Budget(team, **fields))
    names = [b.name for b in out]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise ValueError(f"wattmeter option 'budgets': two budgets named {dup!r}; give "
                         "one of them a different name= or different narrowing")
    return out
