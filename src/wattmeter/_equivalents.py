"""Everyday equivalents that make watt-hours and grams tangible (demo, report, dashboard).

Each constant carries its source and year; the Grafana dashboard uses the same figures.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["EQUIVALENTS", "Equivalent", "describe", "express", "pick"]


class Equivalent(NamedTuple):
    """One everyday quantity: how much energy (Wh) or CO2e (g) one unit of it stands for."""

    name: str
    unit: str  # what one of it is called, e.g. "smartphone charges"
    wh: float | None
    gco2e: float | None
    source: str
    year: int


EQUIVALENTS = (
    Equivalent("smartphone", "smartphone charges", 12.0, None,
               "full smartphone charge as quoted in press coverage of Luccioni, Jernite and "
               "Strubell, Power Hungry Processing (FAccT 2024)", 2024),
    Equivalent("microwave", "minutes of a microwave oven", 850.0 / 60.0, None,
               "a typical 700-1000 W microwave oven running one hour = 850 Wh "
               "(shared/reference/published-figures.csv)", 2025),
    Equivalent("car", "km by car", None, 106.6,
               "average WLTP tailpipe CO2 of new passenger cars registered in the EU, Iceland "
               "and Norway in 2023, European Environment Agency provisional data", 2024),
)


def describe(energy_wh: float, co2e_g: float) -> str:
    """The most readable equivalent for an amount, e.g. ``"3.2 smartphone charges"``."""
    phone, microwave, car = EQUIVALENTS
    assert phone.wh and microwave.wh and car.gco2e
    charges = energy_wh / phone.wh
    if charges >= 0.5:
        return f"{charges:.1f} {phone.unit}"
    minutes = energy_wh / microwave.wh
    if minutes >= 0.1:
        return f"{minutes:.1f} {microwave.unit}"
    metres = co2e_g / car.gco2e * 1000
    if metres >= 1:
        return f"{metres:.0f} m by car"
    return f"{charges * 100:.2g}% of a phone charge"


def pick(energy_wh: float, co2e_g: float) -> Equivalent:
    """The one equivalent a whole report uses, chosen from its total: phone charges from
    half a charge up, minutes of a microwave oven from 0.1 minute, else distance by car.
    Every row of the report is then expressed in it, so rows compare at a glance."""
    phone, microwave, car = EQUIVALENTS
    assert phone.wh and microwave.wh
    if energy_wh / phone.wh >= 0.5:
        return phone
    if energy_wh / microwave.wh >= 0.1 or co2e_g <= 0:
        return microwave
    return car


def express(eq: Equivalent, energy_wh: float, co2e_g: float) -> str:
    """An amount in the unit of `eq`, e.g. ``"3.2 smartphone charges"`` or ``"0.012 km by car"``
    (three significant figures, no scientific notation)."""
    from ._numbers import plain

    if eq.wh:
        return f"{plain(energy_wh / eq.wh)} {eq.unit}"
    assert eq.gco2e
    return f"{plain(co2e_g / eq.gco2e)} {eq.unit}"
