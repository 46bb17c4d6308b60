"""Numbers for people: significant figures, scaled units, never scientific notation; one
equivalent unit per report (issue 20, rough edge 10)."""

from __future__ import annotations

import pytest

from wattmeter import _numbers as num
from wattmeter._equivalents import EQUIVALENTS, express, pick


@pytest.mark.parametrize(("x", "text"), [
    (0, "0"), (6.036e-05, "0.0000604"), (0.004, "0.004"), (1.0, "1"), (12.345, "12.3"),
    (999.96, "1,000"), (12345.6, "12,346"), (-0.5, "-0.5"), (float("nan"), "n/a")])
def test_plain(x: float, text: str) -> None:
    assert num.plain(x) == text


@pytest.mark.parametrize(("wh", "text"), [
    (6.036e-05, "0.0604 mWh"), (0.5, "500 mWh"), (12.3, "12.3 Wh"), (4321.0, "4.32 kWh"),
    (2.5e7, "25 MWh"), (0, "0 Wh")])
def test_energy(wh: float, text: str) -> None:
    assert num.energy(wh) == text


def test_mass_volume_adpe() -> None:
    assert num.mass(1530, suffix=" CO2e") == "1.53 kg CO2e"
    assert num.volume(2500) == "2.5 L"
    assert num.adpe(2.7e-05) == "27 mg Sb eq"
    assert num.decimal(2.66609e-05) == "0.0000266609"


def test_one_equivalent_unit_for_rows_of_any_size() -> None:
    eq = pick(11_000.0, 5_000.0)
    texts = [express(eq, wh, wh * 0.4) for wh in (11_000.0, 30.0, 0.06, 0.0026)]
    assert all(t.endswith(eq.unit) for t in texts)
    assert texts[-1] == "0.000217 smartphone charges"
    assert pick(5.0, 2.0).unit == EQUIVALENTS[1].unit  # microwave minutes
    car = pick(0.001, 0.3)
    assert express(car, 0.001, 0.3).endswith("km by car")
