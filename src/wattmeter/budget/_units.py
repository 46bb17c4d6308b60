"""Readable budget limits ("5 kWh", "20 kgCO2e", "750 J") turned into base numbers.

Energy limits are kept in watt-hours and CO2e limits in grams, the units a `Footprint`
carries, so comparing a budget with its use is one subtraction.
"""

from __future__ import annotations

import re

__all__ = ["CO2E", "ENERGY", "format_amount", "parse_limit"]

ENERGY = "energy"
CO2E = "co2e"

#: Multiplier to watt-hours for each energy unit (lower-cased).
_ENERGY_UNITS = {
    "mwh": 1e6, "kwh": 1e3, "wh": 1.0,
    "gj": 1e9 / 3600, "mj": 1e6 / 3600, "kj": 1e3 / 3600, "j": 1.0 / 3600,
}
#: Multiplier to grams of CO2e for each mass unit (lower-cased, "co2e"/"co2" stripped).
_CO2E_UNITS = {"t": 1e6, "tonne": 1e6, "tonnes": 1e6, "kg": 1e3, "g": 1.0, "mg": 1e-3}

_LIMIT = re.compile(
    r"^\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z0-9 ]+?)\s*$")
_MWH_CASE = re.compile(r"^MWh$")

FORM = ("a number with a unit: energy as '5 kWh', '250 Wh', '3.6 MJ'; "
        "CO2e as '20 kgCO2e', '500 gCO2e', '1 tCO2e'")


def parse_limit(text: str) -> tuple[str, float]:
    """('energy', Wh) or ('co2e', g) for a readable limit; ValueError naming the valid form.

    A signed number is read as one, so "-1 Wh" is told it is not positive rather than that
    it is no number."""
    m = _LIMIT.match(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"got {text!r}; expected {FORM}")
    number = float(m.group(1))
    if not number > 0:
        raise ValueError(f"got {text!r}; expected a positive amount, e.g. '5 kWh'")
    unit = m.group(2).replace(" ", "")
    low = unit.lower()
    if low.endswith(("co2e", "co2eq")) or low.endswith("co2"):
        mass = re.sub(r"co2(e|eq)?$", "", low)
        factor = _CO2E_UNITS.get(mass)
        if factor is not None:
            return CO2E, number * factor
    else:
        # "mWh" (milli) is not a budget unit; "MWh" is megawatt-hours.
        if low == "mwh" and not _MWH_CASE.match(unit):
            raise ValueError(f"got {text!r}: write megawatt-hours as 'MWh'; expected {FORM}")
        factor = _ENERGY_UNITS.get(low)
        if factor is not None:
            return ENERGY, number * factor
    raise ValueError(f"got {text!r}: unknown unit {unit!r}; expected {FORM}")


def format_amount(metric: str, value: float) -> str:
    """A short human reading of an amount in base units, e.g. '1.25 kWh' or '20 kgCO2e'."""
    if metric == ENERGY:
        for unit, factor in (("MWh", 1e6), ("kWh", 1e3), ("Wh", 1.0)):
            if abs(value) >= factor or unit == "Wh":
                return f"{value / factor:.4g} {unit}"
    for unit, factor in (("tCO2e", 1e6), ("kgCO2e", 1e3), ("gCO2e", 1.0)):
        if abs(value) >= factor or unit == "gCO2e":
            return f"{value / factor:.4g} {unit}"
    return f"{value:.4g}"  # pragma: no cover
