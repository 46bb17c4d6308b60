"""Quickstart: meter one OpenAI chat call and print its energy and CO2e.

It shows the four calls most users need: ``configure`` (options), ``instrument`` (patch
the installed provider libraries), ``attribute`` (whose call it is) and
``testing.capture`` (read back the footprint of the calls made inside a block).

Run it with no API key against wattmeter's local provider simulator::

    python examples/openai_quickstart.py

or against a real endpoint::

    WATTMETER_EXAMPLE_BASE_URL=https://api.openai.com/v1 OPENAI_API_KEY=sk-... \
        python examples/openai_quickstart.py
"""

from __future__ import annotations

import os
import textwrap

import openai
from _simulator import base_url

import wattmeter
from wattmeter.testing import capture


def main() -> None:
    """Make one metered chat call and print what it cost."""
    with base_url() as url:
        # --- what the README quickstart shows -------------------------------------------
        wattmeter.configure(grid_zone="FR")  # optional; default: the provider's own grid
        wattmeter.instrument("openai")  # or instrument() for every installed library
        client = openai.OpenAI(base_url=url,
                               api_key=os.environ.get("OPENAI_API_KEY", "simulator"))
        with capture() as footprints, wattmeter.attribute(team="search", feature="autocomplete"):
            reply = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "Suggest three search queries about tea."}],
                max_tokens=40,
            )
        fp = footprints[0]
        # --------------------------------------------------------------------------------
        print("reply:", textwrap.shorten(reply.choices[0].message.content or "", 60))
        print(f"team={fp.team} labels={dict(fp.labels)} provider={fp.provider} model={fp.model}")
        print(f"tokens: {fp.input_tokens} in, {fp.output_tokens} out")
        print(f"energy: {fp.energy_wh:.5f} Wh (90% interval {fp.energy_wh_low:.5f}"
              f"-{fp.energy_wh_high:.5f} Wh; accelerators {fp.accelerator_wh:.5f} Wh,"
              f" PUE {fp.pue})")
        print(f"co2e: {fp.co2e_g:.6f} g at {fp.grid_gco2e_per_kwh:g} gCO2e/kWh"
              f" (grid zone {fp.grid_zone}, {fp.method})")
        for warning in fp.warnings:
            print(f"warning: {warning}")
        wattmeter.uninstrument()


if __name__ == "__main__":
    main()
