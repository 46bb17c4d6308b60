"""Energy between two instants from raw samples, and the faults that make it untrustworthy."""

from __future__ import annotations

import pytest

from wattmeter.measure import Fallback, Series
from wattmeter.measure._series import NotReady, integrate_power


def series(times: list[float], joules: list[float]) -> Series:
    return Series("node-1/GPU-0", {"gpu": "0"}, times, joules)


def test_energy_between_two_instants_is_interpolated() -> None:
    s = series([0.0, 1.0, 2.0], [0.0, 100.0, 300.0])
    s.check(0.5, 1.5, 5.0)
    assert s.between(0.5, 1.5) == pytest.approx(200.0 - 50.0)


def test_a_counter_that_goes_down_is_a_reset() -> None:
    s = series([0.0, 1.0, 2.0, 3.0], [500.0, 600.0, 10.0, 50.0])
    with pytest.raises(Fallback) as err:
        s.check(0.5, 2.5, 5.0)
    assert err.value.reason == "counter_reset"


def test_a_long_gap_between_samples_is_a_scrape_gap() -> None:
    s = series([0.0, 1.0, 9.0, 10.0], [0.0, 1.0, 9.0, 10.0])
    with pytest.raises(Fallback) as err:
        s.check(0.5, 9.5, 3.0)
    assert err.value.reason == "scrape_gap"


def test_a_series_born_inside_the_window_is_a_scrape_gap() -> None:
    with pytest.raises(Fallback) as err:
        series([2.0, 3.0], [0.0, 1.0]).check(1.0, 2.5, 5.0)
    assert err.value.reason == "scrape_gap"


def test_samples_not_past_the_window_end_are_not_ready() -> None:
    with pytest.raises(NotReady):
        series([0.0, 1.0], [0.0, 1.0]).check(0.0, 2.0, 5.0)


def test_a_non_finite_sample_is_refused() -> None:
    with pytest.raises(Fallback) as err:
        series([0.0, 1.0, 2.0], [0.0, float("nan"), 2.0]).check(0.0, 2.0, 5.0)
    assert err.value.reason == "bad_sample"


def test_power_samples_integrate_like_a_counter() -> None:
    assert integrate_power([0.0, 1.0, 3.0], [100.0, 100.0, 200.0]) == [0.0, 100.0, 400.0]


def test_a_bad_sample_at_the_window_start_is_a_bad_sample() -> None:
    """The sample the window's start interpolates from was not checked: NaN passed into
    the counters (``max(nan, 0.0)`` is NaN)."""
    s = series([0.0, 1.0, 2.0], [float("nan"), 100.0, 300.0])
    with pytest.raises(Fallback) as err:
        s.check(0.5, 1.5, 5.0)
    assert err.value.reason == "bad_sample"
