"""Where a provider estimate's width comes from: p95/p5 of facility energy with each
unknown of the Monte Carlo held at its median in turn, and with only that one drawn.

Usage: python benchmarks/width_parts.py [--samples N] [--models gpt-4.1@openai,...]

The request is issue 17's chat turn (400 input, 400 output tokens). Held values: the
size's log-uniform midpoint, the fleet's dominant accelerator and precision, the middle of
each fleet range (interactivity, prefix-cache hits, speculation acceptance, load), a
physics error of 1, the central host ratio, idle share and PUE; `sibling_ratio` is the
stray of a sibling's cost ratio to the anchor model, `anchor_error`/`anchor_size` the
anchor model's own draws, `anchor` the disclosure's weights (held: not applied). Samples:
the estimate's own 256 draws (what users get) and more (`--samples`, the same seed) so a
part's effect is not lost in the noise of 256 draws. Output goes into docs/regimes.md.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import wattmeter  # noqa: E402
from wattmeter.estimate import _api  # noqa: E402
from wattmeter.estimate._hold import PARTS as ALL_PARTS  # noqa: E402
from wattmeter.estimate._hold import set_held  # noqa: E402
from wattmeter.estimate._physics import constants  # noqa: E402

CHAT = {"input_tokens": 400, "output_tokens": 400}
MODELS = ("gpt-4.1@openai", "claude-sonnet-4@anthropic", "gpt-4o@openai",
          "mistral-large-2407@mistral")
FRONTIER = ("gpt-4o@openai", "gpt-4.1@openai", "claude-sonnet-4@anthropic",
            "gemini-2.5-flash@google", "gemini-2.5-pro@google", "mistral-large-2407@mistral",
            "deepseek-chat@deepseek")


#: The draws of a chat turn (a closed video model's attention window is not one).
PARTS = tuple(p for p in ALL_PARTS if p != "attention_window")


def width(key: str, held: set[str] | frozenset[str] = frozenset()) -> tuple[float, float]:
    """(facility Wh central, p95/p5) of the chat turn with `held` parts at their median."""
    model, provider = key.split("@")
    set_held(held)
    _api.clear_cache()
    try:
        fp = wattmeter.estimate(model, provider, **CHAT)
    finally:
        set_held(())
        _api.clear_cache()
    return fp.energy_wh, fp.energy_wh_high / fp.energy_wh_low


def parts(key: str) -> dict[str, tuple[float, float]]:
    """Part -> (p95/p5 with it held, p95/p5 with only it drawn); "" -> all drawn."""
    out = {"": (width(key)[1], 0.0)}
    for part in PARTS:
        out[part] = (width(key, {part})[1], width(key, set(PARTS) - {part, "anchor"})[1])
    return out


def table(keys: list[str]) -> list[str]:
    """Markdown rows, one per part: for each model p95/p5 with that part held, the share of
    ln(p95/p5)^2 it explains, and p95/p5 with only it drawn (the anchor's weights kept)."""
    got = {k: parts(k) for k in keys}
    out = ["| held at its median | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys),
           "| nothing (all drawn) | " + " | ".join(f"x{got[k][''][0]:.1f}" for k in keys) + " |"]
    for part in PARTS:
        cells = []
        for k in keys:
            full = got[k][""][0]
            held, only = got[k][part]
            share = 1.0 - (math.log(held) / math.log(full)) ** 2 if full > 1 else 0.0
            alone = f"; alone x{only:.2f}" if only > 1.005 else ""
            cells.append(f"x{held:.1f}" if abs(held / full - 1.0) < 0.005 and not alone
                         else f"x{held:.1f} ({100 * share:+.0f}%{alone})")
        out.append(f"| {part} | " + " | ".join(cells) + " |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2048,
                        help="Monte Carlo draws for the decomposition (default 2048)")
    parser.add_argument("--models", default=",".join(MODELS),
                        help="comma-separated model@provider keys")
    args = parser.parse_args()
    ku = constants("uncertainty")
    base = int(ku["samples"])
    print(f"Frontier models, chat turn (400 + 400 tokens): facility Wh and p95/p5 at {base} "
          f"draws (as estimated) and at {args.samples}")
    print("| model | central Wh | p95/p5 | p95/p5 at more draws |\n|---|---|---|---|")
    rows = {k: width(k) for k in FRONTIER}
    ku["samples"] = args.samples
    try:
        for k in FRONTIER:
            more = width(k)
            print(f"| {k} | {rows[k][0]:.3f} | x{rows[k][1]:.1f} | x{more[1]:.1f} |")
        print(f"\n{args.samples} draws: p95/p5 with the part held at its median (the share "
              "of ln(p95/p5)^2 it explains; p95/p5 with only it drawn, the anchor's weights "
              "kept)")
        print("\n".join(table(args.models.split(","))))
    finally:
        ku["samples"] = base
        _api.clear_cache()


if __name__ == "__main__":
    main()
