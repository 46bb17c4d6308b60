"""The report's charts: matplotlib figures rendered to inline SVG with a title and a text
alternative (``<title>``, ``<desc>``, ``role="img"``, ``aria-label``).

Text stays text (``svg.fonttype = "none"``), so the figures are small and searchable; the
XML prolog, DOCTYPE, metadata and namespace declarations are dropped, so the file holds
no external reference. matplotlib is imported here only (the ``report`` extra).
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from .._numbers import plain
from .._safe_text import for_html

__all__ = ["UNITS", "bars", "budget_bars", "stacked_time", "unit_for"]

#: (unit name, factor from the base unit) per quantity, large to small.
UNITS = {
    "energy": (("MWh", 1e6), ("kWh", 1e3), ("Wh", 1.0), ("mWh", 1e-3)),
    "co2e": (("t CO2e", 1e6), ("kg CO2e", 1e3), ("g CO2e", 1.0), ("mg CO2e", 1e-3)),
}
_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
            "#ff9da7", "#9c755f", "#bab0ac")


def unit_for(kind: str, largest: float) -> tuple[str, float]:
    """The unit a chart of `kind` uses so that its largest value reads between 1 and 1000."""
    units = UNITS[kind]
    for name, factor in units:
        if abs(largest) >= factor:
            return name, factor
    return units[-1]


_STYLE = {"svg.fonttype": "none", "svg.hashsalt": "wattmeter", "font.size": 9,
          "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
          "grid.alpha": 0.3, "axes.titlesize": 10,
          # a team called "$x^2$" is a name, not TeX (and "a$b" would not parse)
          "text.parse_math": False}


def _styled(draw: Callable[..., str]) -> Callable[..., str]:
    """Run a chart function under the report's style without touching the process-wide
    matplotlib settings (the host may plot too)."""
    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        import matplotlib

        with matplotlib.rc_context(cast(Any, _STYLE)):
            return draw(*args, **kwargs)
    return wrapper


def _figure(width: float, height: float) -> tuple[Any, Any]:
    """A figure and its axes, without pyplot (no GUI backend, no global figure list, and
    a third less import time)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def _axis_plain(axis: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: plain(v, 3)))


_DROP = re.compile(r"<\?xml[^>]*>\s*|<!DOCTYPE[^>]*>\s*|<metadata>.*?</metadata>\s*|"
                   r"\s+xmlns(:xlink)?=\"[^\"]*\"", re.S)


def _svg(fig: Any, title: str, desc: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = _DROP.sub("", buf.getvalue())
    label = for_html(title)
    head = (f'<svg role="img" aria-label="{label}" class="chart"')
    text = text.replace("<svg", head, 1)
    end = text.index(">", text.index("<svg")) + 1
    return (text[:end] + f"<title>{label}</title><desc>{for_html(desc)}</desc>"
            + text[end:]).strip()


def _names(labels: Sequence[str], limit: int = 40) -> list[str]:
    """Label texts for a chart: controls removed, long names cut."""
    from .._safe_text import for_terminal

    out = []
    for x in labels:
        t = for_terminal(x)
        t = t if len(t) <= limit else t[: limit - 1] + "\u2026"
        out.append(" " + t if t.startswith("_") else t)  # matplotlib hides "_" labels
    return out


@_styled
def stacked_time(times: Sequence[datetime], series: dict[str, list[float]], kind: str,
                 title: str, desc: str, band: tuple[list[float], list[float]] | None = None
                 ) -> str:
    """Stacked areas per team over time; `band` the total's p5-p95 as dashed lines."""
    top = max([sum(v) for v in zip(*series.values(), strict=True)] + (
        [max(band[1])] if band else []) + [0.0])
    unit, factor = unit_for(kind, top)
    fig, ax = _figure(8.0, 3.2)
    names = _names(list(series))
    ys = [[v / factor for v in vals] for vals in series.values()]
    colors = [_PALETTE[i % len(_PALETTE)] for i in range(len(ys))]
    if len(times) == 1:  # one bucket: bars, an area of one point is invisible
        bottom = 0.0
        for name, y, c in zip(names, ys, colors, strict=True):
            ax.bar([0], y, bottom=bottom, color=c, label=name, width=0.5)
            bottom += y[0]
        ax.set_xticks([0], [times[0].strftime("%Y-%m-%d %H:%M")])
        if band:
            ax.errorbar([0], [bottom], yerr=[[max(0.0, bottom - band[0][0] / factor)],
                                            [max(0.0, band[1][0] / factor - bottom)]],
                        fmt="none", ecolor="#333", capsize=6, label="total p5-p95")
    else:
        ax.stackplot(times, *ys, labels=names, colors=colors, alpha=0.85)
        if band:
            ax.plot(times, [v / factor for v in band[0]], "k--", lw=0.8, label="total p5")
            ax.plot(times, [v / factor for v in band[1]], "k:", lw=0.8, label="total p95")
        fig.autofmt_xdate()
    ax.set_ylabel(unit)
    ax.set_title(title)
    _axis_plain(ax.yaxis)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _svg(fig, title, desc)


@_styled
def bars(labels: Sequence[str], values: Sequence[float], lows: Sequence[float],
         highs: Sequence[float], kind: str, title: str, desc: str,
         second: tuple[str, Sequence[float]] | None = None, first_name: str = "") -> str:
    """Horizontal bars with p5-p95 error bars; `second` stacks another part on top
    (e.g. embodied on usage CO2e), the error bar then spans the total's range."""
    totals = [v + (second[1][i] if second else 0.0) for i, v in enumerate(values)]
    unit, factor = unit_for(kind, max(list(highs) + totals + [0.0]))
    fig, ax = _figure(8.0, 0.45 * len(labels) + 1.2)
    y = list(range(len(labels)))[::-1]
    v = [x / factor for x in values]
    ax.barh(y, v, color=_PALETTE[0], label=first_name or None, height=0.6)
    if second:
        ax.barh(y, [x / factor for x in second[1]], left=v, color=_PALETTE[1],
                label=second[0], height=0.6)
    t = [x / factor for x in totals]
    err = [[max(0.0, a - lo / factor) for a, lo in zip(t, lows, strict=True)],
           [max(0.0, hi / factor - a) for a, hi in zip(t, highs, strict=True)]]
    ax.errorbar(t, y, xerr=err, fmt="none", ecolor="#222", capsize=3, lw=0.9,
                label="p5-p95")
    ax.set_yticks(y, _names(labels))
    ax.set_xlabel(unit)
    ax.set_title(title)
    _axis_plain(ax.xaxis)
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    return _svg(fig, title, desc)


@_styled
def budget_bars(names: Sequence[str], used: Sequence[float], forecast: Sequence[float],
                title: str, desc: str) -> str:
    """Each budget's use and forecast as a share of its limit (100% marked)."""
    fig, ax = _figure(8.0, 0.5 * len(names) + 1.2)
    y = list(range(len(names)))[::-1]
    ax.barh([i + 0.18 for i in y], [u * 100 for u in used], height=0.35,
            color=_PALETTE[0], label="used")
    ax.barh([i - 0.18 for i in y], [f * 100 for f in forecast], height=0.35,
            color=_PALETTE[5], label="forecast at period end")
    ax.axvline(100, color=_PALETTE[3], lw=1.2, label="limit")
    ax.set_yticks(y, _names(names))
    ax.set_xlabel("% of limit")
    ax.set_title(title)
    _axis_plain(ax.xaxis)
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    return _svg(fig, title, desc)
