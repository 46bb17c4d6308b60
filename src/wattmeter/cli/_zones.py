"""``wattmeter zones``: the grid zones wattmeter knows, with their carbon intensity and source."""

from __future__ import annotations

import argparse
import json

NAME = "zones"
HELP = "list grid zones (countries, cloud regions) and their carbon intensity"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=("world", "country", "cloud-region"),
                        help="only zones of this kind")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    from ..estimate._grid import all_zones
    from ._models import print_table

    zones = all_zones()
    if args.kind:
        zones = [z for z in zones if z.kind == args.kind]
    if args.json:
        print(json.dumps([z._asdict() for z in zones], indent=2))
        return 0
    rows = [(z.zone, z.name, f"{z.gco2e_per_kwh:g}", z.basis, str(z.year)) for z in zones]
    print_table(("zone", "name", "gCO2e/kWh", "basis", "year"), rows)
    print(f"\n{len(rows)} zone(s), location-based. Cloud regions also match without their "
          "prefix where unambiguous (us-east-1, eastus). Per zone: `wattmeter zones --json`; "
          "market-based factors and how to set your own: docs/grid.md.")
    for source in sorted({z.source for z in zones}):  # one short citation per source
        print(f"source  {source}")
    return 0
