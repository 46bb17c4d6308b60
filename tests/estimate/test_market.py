"""Market-based CO2e beside location-based: the factor each call takes, its source, and the
footprint fields computed from the same energy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import wattmeter
from wattmeter.estimate import _market
from wattmeter.estimate._grid import zone_intensity
from wattmeter.estimate._market import market_factor, market_table

DATA = Path(_market.__file__).with_name("data") / "market.json"


def test_every_factor_has_a_source_and_year() -> None:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    assert "GHG Protocol" in raw["basis"] and raw["unit"] == "gCO2e/kWh"
    for row in raw["providers"] + raw["residual_mixes"]:
        assert row["source"] in raw["sources"], row
        assert 2020 <= row["year"] <= 2026, row
        assert 0 <= row["gco2e_per_kwh"] <= 1200, row
    for row in raw["residual_mixes"]:
        zone_intensity(row["country"])  # every residual mix is a country of grid.json


def test_google_publishes_its_own_factor_from_the_gemini_disclosure() -> None:
    f = market_factor("google", "US", 369.5)
    assert f.kind == "provider" and "2508.15734" in f.source
    # 0.023 gCO2e (Scope 2, market-based) per 0.24 Wh median prompt (published-figures.csv)
    assert f.gco2e_per_kwh == pytest.approx(0.023 / 0.24 * 1000, rel=0.01)


@pytest.mark.parametrize(("zone", "country"), [
    ("DE", "DE"), ("aws:eu-central-1", "DE"), ("azure:westeurope", "NL"),
    ("gcp:europe-west9", "FR"), ("aws:eu-west-1", "IE"), ("azure:northeurope", "IE"),
])
def test_eu_zones_fall_back_to_their_countrys_residual_mix(zone: str, country: str) -> None:
    f = market_factor("openai", zone, 300.0)
    assert f.kind == "residual-mix" and "AIB" in f.source
    assert f.gco2e_per_kwh == market_table()["residual"][country].gco2e_per_kwh


@pytest.mark.parametrize("zone", ["US", "aws:us-east-1", "WORLD", "custom", "IN", "NO"])
def test_no_market_figure_means_the_location_factor_stands_in(zone: str) -> None:
    f = market_factor("openai", zone, 123.4)
    assert f == (123.4, "location", f.source, 0) and "location-based" in f.source


def test_footprint_carries_market_co2e_from_the_same_energy() -> None:
    fp = wattmeter.estimate("gpt-4o", provider="openai", input_tokens=1000, output_tokens=400,
                            zone="DE")
    mk = market_table()["residual"]["DE"].gco2e_per_kwh
    assert fp.grid_market_gco2e_per_kwh == mk
    assert fp.co2e_market_g == pytest.approx(fp.energy_wh * mk / 1000)
    assert fp.co2e_market_g_low == pytest.approx(fp.energy_wh_low * mk / 1000)
    assert fp.co2e_market_g_high == pytest.approx(fp.energy_wh_high * mk / 1000)
    assert fp.co2e_market_g_low <= fp.co2e_market_g <= fp.co2e_market_g_high
    d = fp.to_dict()
    assert list(d)[-4:] == ["co2e_market_g", "co2e_market_g_low", "co2e_market_g_high",
                            "grid_market_gco2e_per_kwh"]


def test_google_market_co2e_is_below_location_co2e() -> None:
    fp = wattmeter.estimate("gemini-2.5-flash", provider="google", input_tokens=500,
                            output_tokens=300)
    assert fp.grid_market_gco2e_per_kwh == market_table()["providers"]["google"].gco2e_per_kwh
    assert 0 < fp.co2e_market_g < fp.co2e_g


def test_us_has_no_residual_mix_yet_so_the_location_factor_stands_in() -> None:
    fp = wattmeter.estimate("gpt-4o", provider="openai", input_tokens=100, output_tokens=10)
    assert fp.grid_zone == "US" and fp.grid_market_gco2e_per_kwh == fp.grid_gco2e_per_kwh
    # the stand-in is the location figure, range included (the provider's zone is uncertain)
    assert (fp.co2e_market_g, fp.co2e_market_g_low, fp.co2e_market_g_high) == \
        (fp.co2e_g, fp.co2e_g_low, fp.co2e_g_high)


def test_a_metered_call_carries_market_co2e() -> None:
    from wattmeter._usage import Usage
    from wattmeter.estimate._api import footprint_for

    fp = footprint_for(Usage(provider="mistral", model="mistral-large-latest",
                             operation="chat", input_tokens=400, output_tokens=200),
                       team="t", labels={})
    assert fp.grid_zone == "FR" and fp.grid_market_gco2e_per_kwh == \
        market_table()["residual"]["FR"].gco2e_per_kwh
    assert fp.co2e_market_g == pytest.approx(fp.energy_wh * fp.grid_market_gco2e_per_kwh / 1000)
