"""The ``wattmeter`` command: one module per subcommand, each with ``add_parser`` and ``run``.

A subcommand module exports ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``. Bad arguments print one clear sentence and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["COMMANDS", "main"]

#: Subcommand modules in this package, in the order `--help` lists them.
COMMANDS = ("demo", "estimate", "models", "zones", "budgets", "report", "config")


def _parser() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    from .._version import __version__

    parser = argparse.ArgumentParser(
        prog="wattmeter",
        description="Energy and CO2e of generative-AI calls.",
    )
    parser.add_argument("--version", action="version", version=f"wattmeter {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules: dict[str, object] = {}
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}._{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}._{name}":
                continue
            raise
        # argparse %-formats help strings: a literal % must be doubled.
        p = sub.add_parser(module.NAME, help=module.HELP.replace("%", "%%"),
                           description=module.HELP)
        module.add_arguments(p)
        modules[module.NAME] = module
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wattmeter`` console script."""
    parser, modules = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    try:
        from .._config import check, reset

        check()  # fail early, naming option and source, on a bad value in the env or a file
        # then read the environment and files as they are now, without warning twice
        reset(forget_reported=False)
        return int(modules[args.command].run(args) or 0)  # type: ignore[attr-defined]
    except BrokenPipeError:  # `wattmeter models | head`: the reader left; stop quietly
        _quiet_stdout()
        return 0
    except ValueError as exc:
        from .._safe_text import for_terminal  # a message may quote a team or model name

        print(f"wattmeter {args.command}: error: {for_terminal(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a file that is no ledger: one line, no traceback
        import sqlite3

        if not isinstance(exc, sqlite3.Error):
            raise
        path = getattr(args, "ledger", None) or "the ledger"
        print(f"wattmeter {args.command}: error: can't read {path} as a wattmeter ledger "
              f"(SQLite: {exc}); give the ledger file with --ledger PATH", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush raises no second
    BrokenPipeError (Python's documented recipe for SIGPIPE)."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
