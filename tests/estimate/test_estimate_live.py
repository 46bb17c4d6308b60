"""Live grid intensity reaches estimates: cached coefficients are rebuilt when a zone's live
value arrives, changes or is dropped (Electricity Maps route of the local simulator)."""

from __future__ import annotations

from typing import Any

import pytest

import wattmeter
from wattmeter import Usage
from wattmeter.estimate import _api, _live, footprint_for
from wattmeter.estimate._grid import zone_intensity
from wattmeter.testing.simulator import electricity_maps

STATIC_FR = zone_intensity("FR").gco2e_per_kwh
LIVE_FR = electricity_maps.INTENSITY["FR"]
CHAT = {"input_tokens": 1000, "output_tokens": 300}


pytestmark = pytest.mark.usefixtures("clean_live")


def _live_on(sim: Any, **options: Any) -> None:
    wattmeter.configure(live_intensity=True, electricity_maps_token="test-token",
                        electricity_maps_url=sim.url + "/v3", **options)


def _age(seconds: float) -> None:
    """Pretend the live values were fetched and the coefficients asked `seconds` ago."""
    for zone, (value, at) in list(_live._values.items()):
        _live._values[zone] = (value, at - seconds)
    for key in list(_api._built):
        _api._built[key] -= seconds


def test_live_value_reaches_a_cached_estimate(simulator: Any) -> None:
    _live_on(simulator)
    first = wattmeter.estimate("gpt-4o", "openai", zone="FR", **CHAT)
    assert first.grid_gco2e_per_kwh == STATIC_FR  # the refresh is in flight
    assert _live.wait(5)
    live = wattmeter.estimate("gpt-4o", "openai", zone="FR", **CHAT)
    assert live.grid_gco2e_per_kwh == LIVE_FR
    assert live.energy_wh == first.energy_wh
    assert live.co2e_g == pytest.approx(first.co2e_g * LIVE_FR / STATIC_FR)
    assert live.co2e_g_high == pytest.approx(first.co2e_g_high * LIVE_FR / STATIC_FR)


def test_live_value_reaches_metered_calls_in_the_provider_zone(simulator: Any) -> None:
    _live_on(simulator)
    usage = Usage("openai", "gpt-4o", "chat", **CHAT)
    static = footprint_for(usage, team="t", labels={})
    assert static.grid_zone == "US"
    assert _live.wait(5)
    live = footprint_for(usage, team="t", labels={})
    assert live.grid_gco2e_per_kwh == electricity_maps.intensity_of("US")
    assert live.grid_gco2e_per_kwh != static.grid_gco2e_per_kwh
    assert live.co2e_g == pytest.approx(
        static.co2e_g * live.grid_gco2e_per_kwh / static.grid_gco2e_per_kwh)
    assert live.co2e_g_low <= live.co2e_g <= live.co2e_g_high


def test_changed_value_after_the_ttl(simulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _live_on(simulator, live_intensity_ttl_s=60)
    assert _live.refresh("FR") == LIVE_FR
    assert wattmeter.estimate("gpt-4o", zone="FR", **CHAT).grid_gco2e_per_kwh == LIVE_FR
    monkeypatch.setitem(electricity_maps.INTENSITY, "FR", 35.0)
    # within the TTL: nobody asks Electricity Maps again
    assert wattmeter.estimate("gpt-4o", zone="FR", **CHAT).grid_gco2e_per_kwh == LIVE_FR
    _age(120)
    # past it: the previous value still answers (never blocks) and a refresh starts
    assert wattmeter.estimate("gpt-4o", zone="FR", **CHAT).grid_gco2e_per_kwh == LIVE_FR
    assert _live.wait(5)
    assert wattmeter.estimate("gpt-4o", zone="FR", **CHAT).grid_gco2e_per_kwh == 35.0


def test_dropped_value_falls_back_to_the_table(simulator: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _live_on(simulator)
    assert _live.refresh("FR") == LIVE_FR
    assert wattmeter.estimate("gpt-4o", zone="FR", **CHAT).grid_gco2e_per_kwh == LIVE_FR

    def broken(zone: str) -> float:
        raise RuntimeError("upstream down")

    monkeypatch.setattr(electricity_maps, "intensity_of", broken)  # simulator answers 500
    assert _live.refresh("FR") is None
    assert wattmeter.estimate("gpt-4o", zone="FR", **CHAT).grid_gco2e_per_kwh == STATIC_FR


def test_only_the_affected_zone_is_rebuilt(simulator: Any) -> None:
    _live_on(simulator)
    assert _live.refresh("DE") == electricity_maps.INTENSITY["DE"]
    de = wattmeter.estimate("gpt-4o", zone="DE", **CHAT)
    fixed = wattmeter.estimate("gpt-4o", grid_intensity=100.0, **CHAT)
    kept = {k: v for k, v in _api._cache.items() if k[0] == "gpt-4o"}
    assert _live.refresh("FR") == LIVE_FR  # a new value for another zone
    assert _api._cache[next(k for k in kept if k[4] == "DE")] is kept[
        next(k for k in kept if k[4] == "DE")]
    assert wattmeter.estimate("gpt-4o", zone="DE", **CHAT) == de
    assert wattmeter.estimate("gpt-4o", grid_intensity=100.0, **CHAT) == fixed
    assert fixed.grid_gco2e_per_kwh == 100.0  # an explicit intensity never goes live


def test_off_by_default_the_table() -> None:
    fp = wattmeter.estimate("gpt-4o", zone="FR", **CHAT)
    assert fp.grid_gco2e_per_kwh == STATIC_FR
    assert _api._live_ttl == 0.0  # no staleness check on the hot path
    assert wattmeter.estimate("gpt-4o", zone="FR", **CHAT) is not fp
    assert wattmeter.estimate("gpt-4o", zone="FR", **CHAT) == fp
