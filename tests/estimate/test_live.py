"""Live grid intensity from Electricity Maps, against the local simulator (loopback only)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

import wattmeter
from wattmeter import _guard
from wattmeter.estimate import _live
from wattmeter.estimate._grid import intensity_for, zone_intensity
from wattmeter.testing.simulator import electricity_maps

STATIC_FR = zone_intensity("FR").gco2e_per_kwh


pytestmark = pytest.mark.usefixtures("clean_live")


def _live_on(sim: Any, token: str = "test-token", **options: Any) -> None:
    wattmeter.configure(live_intensity=True, electricity_maps_token=token,
                        electricity_maps_url=sim.url + "/v3", **options)


def _requests_to_em(sim: Any) -> int:
    return sum(1 for _, path in sim.requests if path == "/v3/carbon-intensity/latest")


def test_off_by_default_uses_the_table(simulator: Any) -> None:
    before = _requests_to_em(simulator)
    assert not _live.enabled()
    assert intensity_for("FR") == STATIC_FR
    assert _live.refresh("FR") is None
    assert _requests_to_em(simulator) == before


def test_on_without_token_warns_and_stays_off(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="wattmeter"):
        wattmeter.configure(live_intensity=True)
        assert not _live.enabled()
        assert intensity_for("FR") == STATIC_FR
    assert "electricity_maps_token" in caplog.text


def test_live_value_after_background_refresh(simulator: Any) -> None:
    _live_on(simulator)
    assert _live.enabled()
    assert intensity_for("FR") == STATIC_FR  # first call: table, refresh started
    assert _live.wait(5)
    assert intensity_for("FR") == electricity_maps.INTENSITY["FR"]
    # cloud regions query their grid zone
    assert zone_intensity("aws:us-east-1").live_zone == "US-MIDA-PJM"
    intensity_for("aws:us-east-1")
    assert _live.wait(5)
    assert intensity_for("aws:us-east-1") == electricity_maps.INTENSITY["US-MIDA-PJM"]
    assert intensity_for("us-east-1") == electricity_maps.INTENSITY["US-MIDA-PJM"]


def test_update_callbacks(simulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(_live, "_callbacks", [lambda: calls.append(1)])
    _live_on(simulator)
    intensity_for("FR")
    assert _live.wait(5)
    assert calls == [1]  # a new value arrived
    assert _live.refresh("FR") == electricity_maps.INTENSITY["FR"]
    assert calls == [1]  # same value: nothing to rebuild


def test_fresh_value_is_not_refetched(simulator: Any) -> None:
    _live_on(simulator)
    assert _live.refresh("DE") == electricity_maps.INTENSITY["DE"]
    before = _requests_to_em(simulator)
    for _ in range(50):
        assert intensity_for("DE") == electricity_maps.INTENSITY["DE"]
    assert _live.wait(5)
    assert _requests_to_em(simulator) == before


def test_stale_value_is_served_while_refreshing(simulator: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _live_on(simulator, live_intensity_ttl_s=60)
    assert _live.refresh("GB") == 150.0
    value, _ = _live._values["GB"]
    _live._values["GB"] = (value, time.monotonic() - 120)  # older than the TTL
    monkeypatch.setitem(electricity_maps.INTENSITY, "GB", 170.0)
    assert intensity_for("GB") == 150.0  # the stale value, not a wait
    assert _live.wait(5)
    assert intensity_for("GB") == 170.0


def test_never_blocks_the_caller(simulator: Any) -> None:
    _live_on(simulator, token="slow-1.0", live_intensity_timeout_s=5)
    start = time.perf_counter()
    assert intensity_for("FR") == STATIC_FR
    assert time.perf_counter() - start < 0.2  # the request is still in flight
    assert _live.wait(5)
    assert intensity_for("FR") == electricity_maps.INTENSITY["FR"]


@pytest.mark.parametrize(("token", "reason"), [
    ("slow-2", "timed out"),
    ("invalid-token", "HTTP 401"),
    ("error-500", "HTTP 500"),
])
def test_errors_fall_back_to_the_table(simulator: Any, caplog: pytest.LogCaptureFixture,
                                       token: str, reason: str) -> None:
    _live_on(simulator, token=token, live_intensity_timeout_s=0.3)
    errors = _guard.error_counts.get("live_intensity", 0)
    with caplog.at_level(logging.WARNING, logger="wattmeter"):
        assert intensity_for("FR") == STATIC_FR
        assert _live.wait(5)
        assert intensity_for("FR") == STATIC_FR  # still the table
        assert _live.wait(5)
        assert intensity_for("DE") == zone_intensity("DE").gco2e_per_kwh
        assert _live.wait(5)
    assert _guard.error_counts.get("live_intensity", 0) == errors + 2  # FR once (backoff), DE
    warnings = [r for r in caplog.records if "Electricity Maps" in r.getMessage()]
    assert len(warnings) == 1  # logged once
    assert reason in caplog.text
    assert token not in caplog.text  # the token is never logged


def test_failure_after_success_drops_to_the_table(simulator: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _live_on(simulator)
    assert _live.refresh("FR") == electricity_maps.INTENSITY["FR"]

    def broken(zone: str) -> float:
        raise RuntimeError("upstream down")

    monkeypatch.setattr(electricity_maps, "intensity_of", broken)  # simulator answers 500
    value, _ = _live._values["FR"]
    _live._values["FR"] = (value, time.monotonic() - 10_000)
    intensity_for("FR")
    assert _live.wait(5)
    assert intensity_for("FR") == STATIC_FR


def test_bad_payload_is_an_error(simulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _live_on(simulator)
    monkeypatch.setattr(electricity_maps, "intensity_of", lambda zone: float("nan"))
    assert _live.refresh("FR") is None
    assert intensity_for("FR") == STATIC_FR


def test_zone_without_live_source_and_unknown_zone(simulator: Any) -> None:
    _live_on(simulator)
    before = _requests_to_em(simulator)
    assert intensity_for("WORLD") == 473
    assert _live.cached_intensity("not-a-zone") is None
    with pytest.raises(ValueError, match="unknown"):
        intensity_for("not-a-zone")
    assert _live.wait(5)
    assert _requests_to_em(simulator) == before


def test_reconfiguring_drops_live_values(simulator: Any) -> None:
    _live_on(simulator)
    assert _live.refresh("FR") == electricity_maps.INTENSITY["FR"]
    wattmeter.configure(live_intensity=False)
    assert intensity_for("FR") == STATIC_FR
    _live_on(simulator)
    assert intensity_for("FR") == STATIC_FR  # the cache was emptied; refresh restarts
