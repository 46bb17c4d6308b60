"""The self-contained HTML report: one file, inline SVG charts and CSS, no external reference.

Sections: key figures, energy and CO2e over time per team (stacked, with the total's p5-p95),
per model and per provider with ranges, the life-cycle split, location- vs market-based
CO2e, budgets, what each team could change, and the method. Every text that came from the
ledger is escaped; every number is formatted for people in one unit per quantity.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from typing import Any

from .. import _numbers as num
from .._equivalents import EQUIVALENTS, express, pick
from .._safe_text import for_html as h
from .._version import METHOD_VERSION, __version__
from . import _charts
from ._advice import CACHED_SHARE, REASONING_CUT, Change
from ._data import SHORT_OUTPUT_TOKENS, Data, Sums

__all__ = ["render"]

_TOP = 10  # teams, models, providers drawn one by one; the rest summed as "other"

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;
max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;
border-bottom:2px solid #4e79a7;padding-bottom:4px}
.sub{color:#555}.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));
gap:10px;margin:16px 0}.card{border:1px solid #ddd;border-radius:6px;padding:10px}
.card b{display:block;font-size:20px}.card span{color:#555;font-size:12px}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:13px}
th,td{border-bottom:1px solid #e3e3e3;padding:4px 6px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:12px 0}svg.chart{max-width:100%;height:auto}
.est{background:#fff7e0;border-left:4px solid #edc948;padding:6px 10px}
.muted{color:#777}code{font-size:12px}
@media print{body{max-width:none;padding:0;font-size:11px}h2{break-after:avoid}
figure,table,.card{break-inside:avoid}a{color:inherit;text-decoration:none}}
"""


def _when(ts: float, tz: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return datetime.fromtimestamp(ts, tz).strftime(fmt)


def _range(lo: float, hi: float, fmt: Any) -> str:
    return f"{fmt(lo)} \u2013 {fmt(hi)}"


def _co2(g: float) -> str:
    return num.mass(g, suffix=" CO2e")


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric_from: int = 1,
           numeric_to: int = 99) -> str:
    """A table; cells are already escaped; columns numeric_from..numeric_to-1 are numbers
    (right-aligned, not wrapped)."""
    def cls(i: int) -> str:
        return " class=n" if numeric_from <= i < numeric_to else ""

    th = "".join(f"<th{cls(i)}>{c}</th>" for i, c in enumerate(head))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _top(items: dict[Any, Sums], key: str = "co2e_g") -> list[tuple[Any, Sums]]:
    ranked = sorted(items.items(), key=lambda kv: -kv[1][key])
    if len(ranked) <= _TOP:
        return ranked
    other = Sums()
    for _, s in ranked[_TOP - 1:]:
        other.add(s)
    return [*ranked[: _TOP - 1], ("other", other)]


def _cards(data: Data, eq: Any) -> str:
    t = data.total
    market = (_co2(t["co2e_market_g"]) if data.has_market else "not recorded")
    cards = [
        ("Calls", num.plain(t["calls"], 6), "metered generative-AI calls"),
        ("Energy", num.energy(t["energy_wh"]), "facility energy (server x PUE)"),
        ("CO2e, location-based", _co2(t["co2e_g"]),
         "p5\u2013p95 " + _range(t["co2e_g_low"], t["co2e_g_high"], _co2)),
        ("CO2e, market-based", market, "provider factors or residual mix"),
        ("CO2e, embodied", _co2(t["co2e_embodied_g"]), "hardware manufacturing share"),
        ("Water", num.volume(t["water_ml"]), "consumed, on site and for power"),
        ("Abiotic depletion", num.adpe(t["adpe_kgsbeq"]), "ADPe, minerals and metals"),
        ("Equivalent", express(eq, t["energy_wh"], t["co2e_g"]),
         h(eq.source[:80]) + "\u2026 (sources below)"),
    ]
    return '<div class="cards">' + "".join(
        f'<div class="card"><span>{h(a)}</span><b>{h(b)}</b><span>{c}</span></div>'
        for a, b, c in cards) + "</div>"


def _over_time(data: Data, tz: tzinfo) -> str:
    times = sorted({t for t, _ in data.by_time_team})
    teams = [k for k, _ in _top(data.by_team)]
    shown = set(teams)
    idx = {t: i for i, t in enumerate(times)}
    out = []
    for kind, key, label in (("energy", "energy_wh", "Energy"), ("co2e", "co2e_g",
                                                                 "CO2e (location-based)")):
        series = {team: [0.0] * len(times) for team in teams}
        lo, hi = [0.0] * len(times), [0.0] * len(times)
        for (t, team), s in data.by_time_team.items():
            name = team if team in shown else "other"
            series[name][idx[t]] += s[key]
            lo[idx[t]] += s["co2e_g_low"]
            hi[idx[t]] += s["co2e_g_high"]
        title = f"{label} per {data.step} by team"
        desc = (f"Stacked {label.lower()} of {len(teams)} teams over "
                f"{len(times)} {data.step}(s); total " + (
                    num.energy(data.total["energy_wh"]) if kind == "energy"
                    else _co2(data.total["co2e_g"]) + ", p5-p95 "
                    + _range(data.total["co2e_g_low"], data.total["co2e_g_high"], _co2)))
        dts = [datetime.fromtimestamp(t, tz).replace(tzinfo=None) for t in times]
        out.append("<figure>" + _charts.stacked_time(
            dts, series, kind, title, desc, (lo, hi) if kind == "co2e" else None)
            + "</figure>")
    out.append('<p class="muted">The ledger keeps the p5\u2013p95 range of CO2e, not of '
               "energy: the dashed and dotted lines bound the CO2e total.</p>")
    return "".join(out)


def _breakdown(title: str, items: dict[Any, Sums], eq: Any, label: Any) -> str:
    ranked = _top(items)
    # the pooled rest has no (provider, model) key of its own
    names = [label(k) if k in items else f"{len(items) - _TOP + 1} others" for k, _ in ranked]
    total = sum(s["co2e_g"] for _, s in ranked) or 1.0
    chart = _charts.bars(
        names, [s["co2e_g"] for _, s in ranked], [s["co2e_g_low"] for _, s in ranked],
        [s["co2e_g_high"] for _, s in ranked], "co2e", f"CO2e by {title} (p5\u2013p95)",
        f"Location-based CO2e of the {len(ranked)} largest {title}s with error bars from "
        "the 5th to the 95th percentile; largest: " + (names[0] if names else "none"))
    rows = [[h(n), num.plain(s["calls"], 6), num.energy(s["energy_wh"]), _co2(s["co2e_g"]),
             _range(s["co2e_g_low"], s["co2e_g_high"], _co2),
             f"{num.plain(100 * s['co2e_g'] / total, 2)}%",
             h(express(eq, s["energy_wh"], s["co2e_g"]))] for n, s in zip(names, (
                 s for _, s in ranked), strict=True)]
    return "<figure>" + chart + "</figure>" + _table(
        [title.capitalize(), "Calls", "Energy", "CO2e", "p5\u2013p95", "Share",
         h(eq.unit.capitalize())], rows)


def _lifecycle(data: Data) -> str:
    ranked = _top(data.by_team, "co2e_g")
    names = [k for k, _ in ranked]
    chart = _charts.bars(
        names, [s["co2e_g"] for _, s in ranked], [
            s["co2e_g_low"] + s["co2e_embodied_g_low"] for _, s in ranked],
        [s["co2e_g_high"] + s["co2e_embodied_g_high"] for _, s in ranked], "co2e",
        "Life-cycle CO2e by team: usage and embodied",
        "Stacked bars of usage (electricity) and embodied (hardware manufacturing) CO2e "
        "per team, error bars p5-p95 of the sum",
        second=("embodied", [s["co2e_embodied_g"] for _, s in ranked]), first_name="usage")
    rows = [[h(n), _co2(s["co2e_g"]), _co2(s["co2e_embodied_g"]),
             _range(s["co2e_embodied_g_low"], s["co2e_embodied_g_high"], _co2),
             num.volume(s["water_ml"]), _range(s["water_ml_low"], s["water_ml_high"],
                                               num.volume),
             num.adpe(s["adpe_kgsbeq"])] for n, s in ranked]
    return "<figure>" + chart + "</figure>" + _table(
        ["Team", "CO2e usage", "CO2e embodied", "embodied p5\u2013p95", "Water",
         "water p5\u2013p95", "ADPe"], rows)


def _market(data: Data) -> str:
    rows = []
    for team, s in _top(data.by_team):
        market = (_co2(s["co2e_market_g"]) if data.has_market else "not recorded")
        mrange = (_range(s["co2e_market_g_low"], s["co2e_market_g_high"], _co2)
                  if data.has_market else "\u2013")
        rows.append([h(team), _co2(s["co2e_g"]), _range(s["co2e_g_low"], s["co2e_g_high"],
                                                        _co2), market, mrange])
    note = ("" if data.has_market else '<p class="muted">Market-based CO2e: not recorded. '
            "This ledger was written before wattmeter recorded market-based figures; "
            "calls metered with a newer version fill these columns.</p>")
    if data.has_market and data.market_standin_g:
        note = ('<p class="muted">Calls recorded before wattmeter kept market-based figures '
                f"({_co2(data.market_standin_g)} location-based) count with their "
                "location-based CO2e in the market-based column (the GHG Protocol's "
                "grid-average fallback).</p>")
    return _table(["Team", "Location-based", "p5\u2013p95", "Market-based", "p5\u2013p95"],
                  rows) + note


def _budgets(statuses: Sequence[Any]) -> str:
    if not statuses:
        return ('<p class="muted">No budgets: none configured here and none saved in the '
                "ledger.</p>")
    from ..budget._units import ENERGY

    def amount(metric: str, value: float) -> str:
        return num.energy(value) if metric == ENERGY else _co2(value)

    chart = _charts.budget_bars(
        [f"{s.name} ({s.team})" for s in statuses], [s.ratio for s in statuses],
        [s.forecast / s.limit if s.limit else 0.0 for s in statuses],
        "Budgets: used and forecast, % of limit",
        "Each budget's use so far and forecast at the end of its period, as a share of its "
        "limit: " + "; ".join(f"{s.name} {s.ratio:.0%}" for s in statuses))
    rows = [[h(s.name), h(s.team), amount(s.metric, s.used), amount(s.metric, s.limit),
             f"{num.plain(s.ratio * 100, 3)}%", amount(s.metric, s.forecast), h(s.period)]
            for s in statuses]
    return "<figure>" + chart + "</figure>" + _table(
        ["Budget", "Team", "Used", "Limit", "Used %", "Forecast", "Period"], rows, 2, 6)


def _changes(changes: dict[str, list[Change]], eq: Any) -> str:
    out = ['<p class="est"><b>Estimates.</b> Each saving is what wattmeter estimates the '
           "change would have saved over this period, from the team's own calls, with the "
           "p5\u2013p95 range. They are not measurements; check quality before switching.</p>"]
    for team in sorted(changes):
        cs = changes[team]
        out.append(f"<h3>{h(team)}</h3>")
        if not cs:
            out.append('<p class="muted">No change found that would cut more than 2%.</p>')
            continue
        out.append(_table(["Change", "CO2e saved", "p5\u2013p95", "Energy saved",
                           "Share of team", h(eq.unit.capitalize())], [
            [h(c.what), _co2(c.saving_g), _range(c.saving_g_low, c.saving_g_high, _co2),
             num.energy(c.saving_wh), f"{num.plain(100 * c.share, 2)}%",
             h(express(eq, c.saving_wh, c.saving_g)) if c.saving_wh or not eq.wh
             else "\u2013"] for c in cs]))
    return "".join(out)


def _method(data: Data) -> str:
    from ._export import BOUNDARY, RANGES, REGIMES, regime_shares, sources

    src = [[h(s["zone"]), num.plain(s["gco2e_per_kwh"]) if s["gco2e_per_kwh"] is not None
            else "\u2013", h(s["basis"]), h(s["source"]), h(s["year"] or "\u2013")]
           for s in sources(data)]
    eqs = "".join(f"<li>{h(e.unit)}: {h(e.source)} ({e.year})</li>" for e in EQUIVALENTS)
    versions = ", ".join(sorted(data.method_versions)) or "not recorded (older rows)"
    return (
        f"<p><b>Method</b>: {h(versions)}; this report by wattmeter {h(__version__)} "
        f"({h(METHOD_VERSION)}). Figures are <b>estimated</b> per call from the model's "
        "size, the tokens or media produced, the hardware and the data centre "
        "(docs/methodology.md), unless a call was metered on measured hardware; the "
        "ledger does not keep which calls were measured.</p>"
        f"<p><b>Boundary</b>: {h(BOUNDARY)}</p>"
        "<p><b>Serving regimes</b> (how each call was estimated, docs/regimes.md; the "
        "provider's fleet for provider-served calls, one tuned replica for self-hosted "
        "ones, unless configured):</p><ul>"
        + "".join(f"<li>{h(k)}: {v:.0%} of the energy; {h(REGIMES.get(k, k))}</li>"
                  for k, v in regime_shares(data).items())
        + f"</ul><p><b>Ranges</b>: {h(RANGES)}</p>"
        "<p><b>Grid emission factors</b> (location-based) of the zones in this report:</p>"
        + _table(["Zone", "gCO2e/kWh", "Basis", "Source", "Year"], src, 1, 2)
        + f"<p><b>Equivalents</b> (one unit for the whole report):</p><ul>{eqs}</ul>"
        f"<p><b>What could change</b>: short outputs are minutes whose mean output is "
        f"under {SHORT_OUTPUT_TOKENS} tokens; caching assumes {CACHED_SHARE:.0%} of a long "
        f"prompt repeats; lower reasoning effort assumes {REASONING_CUT:.0%} fewer output "
        "tokens.</p>")


def render(data: Data, tz: tzinfo, *, team: str | None, statuses: Sequence[Any],
           changes: dict[str, list[Change]], ledger: str, now: float | None = None) -> str:
    """The whole report as one HTML document."""
    now = time.time() if now is None else now
    t = data.total
    eq = pick(t["energy_wh"], t["co2e_g"])
    scope = f"team {h(team)}" if team else f"{len(data.teams)} team(s)"
    period = f"{_when(data.since, tz)} \u2013 {_when(data.until, tz)}"
    sections = [
        ("Energy and CO2e over time", _over_time(data, tz)),
        ("By model", _breakdown("model", data.by_model, eq, lambda k: f"{k[1]} ({k[0]})")),
        ("By provider", _breakdown("provider", data.by_provider, eq, str)),
        ("Life cycle: usage and embodied CO2e, water, abiotic depletion", _lifecycle(data)),
        ("Location- and market-based CO2e", _market(data)),
        ("Budgets", _budgets(statuses)),
        ("What each team could change", _changes(changes, eq)),
        ("Method and sources", _method(data)),
    ]
    body = "".join(f'<section><h2 id="s{i}">{h(title)}</h2>{html}</section>'
                   for i, (title, html) in enumerate(sections))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>wattmeter report: {period}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>Energy and CO2e of generative-AI calls</h1>"
        f'<p class="sub">{scope}, {h(period)} ({h(tz)}); ledger '
        f"<code>{h(ledger)}</code>; generated {_when(now, tz)} by wattmeter "
        f"{h(__version__)}.</p></header>{_cards(data, eq)}{body}</body></html>\n")
