"""``wattmeter models``: the model registry, filtered by provider, modality or a search text."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

NAME = "models"
HELP = "list the models wattmeter knows (sizes, architecture, sources)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..estimate._registry import MODALITIES

    parser.add_argument("--provider", help="only this provider's models (e.g. openai, mistral)")
    parser.add_argument("--modality", choices=MODALITIES, help="only models of this modality")
    parser.add_argument("--search", metavar="TEXT",
                        help="only models whose id or alias contains TEXT, or that TEXT names "
                        "(e.g. a dated or prefixed name such as openai/gpt-4o-2024-08-06)")
    parser.add_argument("--aliases", action="store_true",
                        help="list the moving names (chat-latest, gemini-flash-latest, ...), the "
                        "model each points to and the month that was read")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _size(mid: float, lo: float, hi: float) -> str:
    if lo == hi == mid:
        return f"{mid:g}"
    return f"{mid:g} [{lo:g}-{hi:g}]"


def print_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print `head` and `rows` as left-aligned columns two spaces apart (also `zones`)."""
    widths = [max(len(r[i]) for r in (*rows, head)) for i in range(len(head))]
    for row in (head, *rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _as_dict(info: Any) -> dict[str, Any]:
    d = info._asdict()
    d["defaults"] = dict(info.defaults)
    d["aliases"] = list(info.aliases)
    d["shape"] = dict(info.shape)
    return d


def _aliases(as_json: bool) -> int:
    from ..estimate._registry import dated_aliases

    rows = [(row.name, row.target, info.id if info else "(unknown)", row.as_of, row.source)
            for row, info in dated_aliases().values()]
    if as_json:
        keys = ("name", "target", "model", "as_of", "source")
        print(json.dumps([dict(zip(keys, r, strict=True)) for r in rows], indent=2))
        return 0
    print_table(("name", "points to", "model", "as of"), [r[:4] for r in rows])
    print(f"\n{len(rows)} moving name(s); sources with --json.")
    return 0


def run(args: argparse.Namespace) -> int:
    from ..estimate._registry import all_models, lookup

    if args.aliases:
        return _aliases(args.json)
    models = all_models()
    if args.provider:
        p = args.provider.strip().lower()
        models = [m for m in models if m.provider == p]
    if args.modality:
        models = [m for m in models if m.modality == args.modality]
    if args.search:
        text = args.search.strip().lower()
        named = lookup(args.search)
        models = [m for m in models if m is named or text in m.id.lower()
                  or any(text in a.lower() for a in m.aliases)]
    if args.json:
        print(json.dumps([_as_dict(m) for m in models], indent=2))
        return 0
    if not models:
        print("no model matches; `wattmeter models` lists them all, and "
              "wattmeter.register_model() adds your own")
        return 0
    rows = [(m.id, m.provider, m.modality, m.architecture,
             _size(m.total_params_b, m.total_params_b_low, m.total_params_b_high),
             _size(m.active_params_b, m.active_params_b_low, m.active_params_b_high),
             m.precision or "-", str(m.year)) for m in models]
    print_table(("model", "provider", "modality", "arch", "total B", "active B", "precision",
                 "year"), rows)
    print(f"\n{len(rows)} model(s). Sizes in billions of parameters; [low-high] for undisclosed "
          "models (see --json notes and source).")
    return 0
