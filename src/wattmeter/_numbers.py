"""Numbers formatted for people: significant figures, scaled units, never scientific notation.

Reports print amounts that span nine orders of magnitude (a small team's 0.00006 kWh next
to a fleet's 4,000 kWh); ``f"{x:.4g}"`` turns the first into ``6e-05`` and ``:.2f`` into
``0.00``. These helpers keep a few significant figures in plain decimal notation and pick
the unit prefix from the value. Depends on nothing.
"""

from __future__ import annotations

import math

__all__ = ["adpe", "decimal", "energy", "mass", "plain", "scaled", "volume"]


def plain(x: float, sig: int = 3) -> str:
    """`x` to `sig` significant figures in decimal notation with thousands separators
    (digits left of the point are all kept: 12,345 stays 12,345)."""
    if not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    digits = max(0, sig - 1 - math.floor(math.log10(abs(x))))
    text = f"{round(x, digits):,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def decimal(x: float, sig: int = 6) -> str:
    """`x` to `sig` significant figures in decimal notation without separators (for CSV:
    ``0.0000266609``, not ``2.66609e-05``)."""
    return plain(x, sig).replace(",", "")


def scaled(x: float, units: tuple[tuple[str, float], ...], sig: int = 3) -> str:
    """`x` (in the base unit) in the largest of `units` ((name, factor) from large to small)
    it reaches at least 1 of; the smallest unit below that."""
    if not math.isfinite(x):
        return "n/a"
    if x == 0:  # "0 Wh", not "0 mWh"
        name = next((n for n, f in units if f == 1.0), units[-1][0])
        return f"0 {name}"
    for name, factor in units:
        if abs(x) >= factor:
            return f"{plain(x / factor, sig)} {name}"
    name, factor = units[-1]
    return f"{plain(x / factor, sig)} {name}"


_ENERGY = (("GWh", 1e9), ("MWh", 1e6), ("kWh", 1e3), ("Wh", 1.0), ("mWh", 1e-3))
_MASS = (("t", 1e6), ("kg", 1e3), ("g", 1.0), ("mg", 1e-3), ("µg", 1e-6))
_VOLUME = (("m³", 1e6), ("L", 1e3), ("mL", 1.0), ("µL", 1e-3))


def energy(wh: float, sig: int = 3) -> str:
    """Energy in Wh as ``"1.25 kWh"`` / ``"60.4 mWh"``."""
    return scaled(wh, _ENERGY, sig)


def mass(g: float, sig: int = 3, suffix: str = "") -> str:
    """A mass in grams as ``"1.2 kg"``; `suffix` (e.g. "CO2e") follows the unit."""
    text = scaled(g, _MASS, sig)
    return f"{text}{suffix}" if suffix else text


def volume(ml: float, sig: int = 3) -> str:
    """A volume in mL as ``"3.4 L"``."""
    return scaled(ml, _VOLUME, sig)


def adpe(kg_sb_eq: float, sig: int = 3) -> str:
    """Abiotic depletion in kg Sb eq as ``"12 mg Sb eq"``."""
    return mass(kg_sb_eq * 1000.0, sig, " Sb eq")
