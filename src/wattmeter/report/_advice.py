"""What each team could change: the few changes that would cut its footprint most.

Computed from the team's own ledger sums with `wattmeter.estimate()`: for each (provider,
model) a team uses, the estimator prices the team's mean call as it is and as it would be
after the change; the ratio is applied to what the ledger recorded. Four kinds of change:
a smaller model of the same provider for the calls with short outputs, a lower-carbon
region the provider offers, prompt caching of a repeated prefix, and fewer reasoning tokens.
The last two rest on stated assumptions (the ledger records neither cached nor reasoning
tokens). Every figure is an estimate with a range (docs/reports.md says how it is made).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ._data import SHORT_OUTPUT_TOKENS, Data, Sums

__all__ = ["CACHED_SHARE", "REASONING_CUT", "REGION_CLOUDS", "Change", "changes"]

#: Share of a long prompt assumed to be a repeated prefix that caching would serve.
CACHED_SHARE = 0.5
#: Share of a reasoning model's output tokens assumed saved by a lower reasoning effort.
REASONING_CUT = 0.3
#: Providers whose regions are cloud regions of wattmeter's grid table (grid.json).
REGION_CLOUDS = {"google": "gcp", "vertex_ai": "gcp", "bedrock": "aws", "azure": "azure",
                 "huggingface": "aws"}
_TEXT_OPS = ("chat", "completion")
#: Specialised variants that are no drop-in replacement for a general chat model.
_NOT_A_SUBSTITUTE = re.compile(r"audio|realtime|codex|computer-use|safeguard|oss|embed|"
                               r"search|tts|transcribe|instant|babbage|davinci|vision")
_REASONING = re.compile(r"(^|/)(o\d|gpt-5|gpt-6)|-r1|think|reason|magistral|qwq")


class Change(NamedTuple):
    """One suggested change for one team, with its estimated CO2e and energy saving."""

    team: str
    kind: str  # "smaller model", "region", "prompt caching", "reasoning"
    what: str  # one sentence for people
    saving_g: float
    saving_g_low: float
    saving_g_high: float
    saving_wh: float
    share: float  # of the team's location-based CO2e in the period


def _ratio(model: str, provider: str, *, input_tokens: int, output_tokens: int,
           new_model: str | None = None, cached: int = 0,
           new_output: int | None = None) -> tuple[float, float, float] | None:
    """(central, at p5, at p95) of new/current CO2e for one mean call; None if unknown."""
    from ..estimate import estimate

    try:
        cur = estimate(model, provider, input_tokens=input_tokens, output_tokens=output_tokens)
        new = estimate(new_model or model, provider, input_tokens=input_tokens,
                       output_tokens=output_tokens if new_output is None else new_output,
                       cached_input_tokens=cached)
    except ValueError:
        return None
    if cur.co2e_g <= 0 or cur.co2e_g_low <= 0 or cur.co2e_g_high <= 0:
        return None
    return (new.co2e_g / cur.co2e_g, new.co2e_g_low / cur.co2e_g_low,
            new.co2e_g_high / cur.co2e_g_high)


def _change(team: str, kind: str, what: str, s: Sums, r: tuple[float, float, float],
            team_g: float) -> Change | None:
    """The saving of applying ratio `r` to the sums `s` (ranges: the ledger's p5/p95 times
    the ratio at the same end, so shared errors cancel as in the ledger's sums)."""
    cut = 1.0 - r[0]
    if cut <= 0.02 or s["co2e_g"] <= 0:
        return None
    lo, hi = sorted((s["co2e_g_low"] * (1.0 - r[1]), s["co2e_g_high"] * (1.0 - r[2])))
    saving = s["co2e_g"] * cut
    return Change(team, kind, what, saving, min(lo, saving), max(hi, saving),
                  s["energy_wh"] * cut if kind != "region" else 0.0,
                  saving / team_g if team_g > 0 else 0.0)


def _smaller(model: str, provider: str) -> str | None:
    """A current smaller text model of the same provider: at most half the active
    parameters, no older than a year before `model`, closest in name, then in size."""
    from ..estimate._registry import all_models, lookup

    info = lookup(model, provider)
    if info is None or info.modality != "text":
        return None
    best: tuple[int, float] | None = None
    pick = None
    for m in all_models():
        if (m.provider != info.provider or m.modality != "text" or m.id == info.id
                or m.active_params_b > 0.5 * info.active_params_b or m.year < info.year - 1
                or _NOT_A_SUBSTITUTE.search(m.id)):
            continue
        prefix = len(_common(m.id, info.id))
        score = (prefix, m.active_params_b)
        if best is None or score > best:
            best, pick = score, m.id
    return pick


def _common(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _mean(s: Sums, key: str) -> int:
    return int(s[key] / s["calls"]) if s["calls"] else 0


def _region(team: str, provider: str, zones: dict[str, float],
            s: Sums, team_g: float) -> Change | None:
    from ..estimate._grid import all_zones, zone_intensity

    cloud = REGION_CLOUDS.get(provider.lower())
    if cloud is None or not zones:
        return None
    zone = max(zones, key=lambda z: zones[z])
    try:
        current = zone_intensity(zone)
    except ValueError:
        return None
    offered = [z for z in all_zones() if z.zone.startswith(cloud + ":")]
    if not offered:
        return None
    best = min(offered, key=lambda z: z.gco2e_per_kwh)
    if best.gco2e_per_kwh >= 0.8 * current.gco2e_per_kwh:
        return None
    r = best.gco2e_per_kwh / current.gco2e_per_kwh
    what = (f"Run {provider} calls in {best.zone} ({best.name}, {best.gco2e_per_kwh:g} "
            f"gCO2e/kWh, {best.year}) instead of {current.zone} "
            f"({current.gco2e_per_kwh:g}); same energy, cleaner grid (location-based).")
    return _change(team, "region", what, s, (r, r, r), team_g)


def changes(data: Data, per_team: int = 4) -> dict[str, list[Change]]:
    """Up to `per_team` changes per team, largest estimated CO2e saving first."""
    out: dict[str, list[Change]] = {}
    by_provider: dict[tuple[str, str], Sums] = {}
    for (team, provider, model, operation), (s, short) in data.by_use.items():
        by_provider.setdefault((team, provider), Sums()).add(s)
        team_g = data.by_team[team]["co2e_g"]
        found = out.setdefault(team, [])
        if operation not in _TEXT_OPS or not s["calls"]:
            continue
        mean_in, mean_out = _mean(s, "input_tokens"), _mean(s, "output_tokens")
        smaller = _smaller(model, provider) if short["calls"] else None
        if smaller:
            r = _ratio(model, provider, input_tokens=_mean(short, "input_tokens"),
                       output_tokens=_mean(short, "output_tokens"), new_model=smaller)
            name = smaller.split("/", 1)[-1]
            n = int(short["calls"])
            calls = "the call" if n == 1 else f"the {n:,} calls"
            what = (f"Use {name} instead of {model} for {calls} with short outputs (under "
                    f"{SHORT_OUTPUT_TOKENS} tokens).")
            c = r and _change(team, "smaller model", what, short, r, team_g)
            if c:
                found.append(c)
        if mean_in >= 1000 and mean_in >= 4 * mean_out:
            r = _ratio(model, provider, input_tokens=mean_in, output_tokens=mean_out,
                       cached=int(mean_in * CACHED_SHARE))
            what = (f"Cache the repeated prompt prefix of {model} calls (mean "
                    f"{mean_in:,} input tokens; assumes {CACHED_SHARE:.0%} of it repeats "
                    "and is not cached yet).")
            c = r and _change(team, "prompt caching", what, s, r, team_g)
            if c:
                found.append(c)
        if _REASONING.search(model.lower()) and mean_out >= 500:
            r = _ratio(model, provider, input_tokens=mean_in, output_tokens=mean_out,
                       new_output=int(mean_out * (1 - REASONING_CUT)))
            what = (f"Lower the reasoning effort of {model} (mean {mean_out:,} output tokens; "
                    f"assumes {REASONING_CUT:.0%} fewer tokens).")
            c = r and _change(team, "reasoning", what, s, r, team_g)
            if c:
                found.append(c)
    for (team, provider), s in by_provider.items():
        c = _region(team, provider, data.zones.get((team, provider), {}), s,
                    data.by_team[team]["co2e_g"])
        if c:
            out[team].append(c)
    return {t: sorted(cs, key=lambda c: -c.saving_g)[:per_team] for t, cs in out.items()}

