"""``wattmeter config``: the effective configuration and where each value came from."""

from __future__ import annotations

import argparse
import json

NAME = "config"
HELP = "print the effective configuration and the source of each value"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")


def _show(value: object) -> str:
    if isinstance(value, tuple) and value and not isinstance(value[0], str):
        return f"{len(value)} budget(s)"
    if isinstance(value, (tuple, list)):
        return ", ".join(map(str, value)) or "-"
    return "-" if value is None else str(value)


def run(args: argparse.Namespace) -> int:
    from .._config import sources

    rows = sources()
    if args.json:
        print(json.dumps([{"option": n, "value": _show(v) if n == "budgets" else v,
                           "source": s} for n, v, s in rows], indent=2, default=str))
        return 0
    width = max(len(n) for n, _, _ in rows)
    vwidth = min(40, max(len(_show(v)) for _, v, _ in rows))
    print(f"{'option':<{width}}  {'value':<{vwidth}}  source")
    for name, value, source in rows:
        print(f"{name:<{width}}  {_show(value):<{vwidth}}  {source}")
    print("\nSet options in code (wattmeter.configure), as WATTMETER_<OPTION> environment "
          "variables, or under [tool.wattmeter] in pyproject.toml / in wattmeter.toml.")
    return 0
