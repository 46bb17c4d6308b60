"""PLACEHOLDER until the budgets issue lands."""

from __future__ import annotations

from typing import Any


class Budget:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


def parse_budgets(value: Any) -> list[Any]:
    return list(value)


def manager(config: Any) -> Any:
    raise NotImplementedError
