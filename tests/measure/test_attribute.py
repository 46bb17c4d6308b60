"""The split of one window's measured energy among its calls (pure arithmetic)."""

from __future__ import annotations

import pytest

from wattmeter.measure import Share, split
from wattmeter.measure._attribute import busy_intervals


def linear(watts: float):  # joules between two instants at constant power
    return lambda a, b: watts * (b - a)


def test_per_call_figures_and_idle_sum_to_the_measurement() -> None:
    shares = [Share(0.0, 4.0, 10.0), Share(2.0, 6.0, 30.0), Share(7.0, 8.0, 5.0)]
    sp = split(linear(100.0), shares, 0.0, 10.0)
    assert sp.measured_j == pytest.approx(1000.0)
    # busy from 0 to 6 and 7 to 8: 700 J to the calls, 300 J idle
    assert sp.idle_j == pytest.approx(300.0)
    assert sum(sp.per_call_j) + sp.idle_j == pytest.approx(sp.measured_j)
    # 0-2: the first call alone; 2-4: both, by estimated power 2.5:7.5 W; 4-6: the second
    assert sp.per_call_j == [pytest.approx(250.0), pytest.approx(350.0), pytest.approx(100.0)]


def test_a_call_straddling_the_window_counts_only_its_part_inside() -> None:
    shares = [Share(8.0, 12.0, 40.0), Share(0.0, 8.0, 40.0)]
    sp = split(linear(10.0), shares, 0.0, 10.0)
    assert sp.weights_j == [pytest.approx(20.0), pytest.approx(40.0)]
    assert sp.per_call_j == [pytest.approx(20.0), pytest.approx(80.0)]


def test_spread_idle_puts_the_idle_line_on_the_calls() -> None:
    shares = [Share(0.0, 1.0, 1.0), Share(0.0, 1.0, 3.0)]
    sp = split(linear(10.0), shares, 0.0, 10.0, spread_idle=True)
    assert sp.idle_j == 0.0
    assert sp.per_call_j == [pytest.approx(25.0), pytest.approx(75.0)]
    # the idle pieces' measured power is still known (the attributor learns the GPUs'
    # floor from it; it fell to 0 on every window with calls when it read idle_j)
    assert sp.idle_seen_j / sp.idle_s == pytest.approx(10.0)


def test_a_window_without_calls_is_all_idle() -> None:
    sp = split(linear(10.0), [], 0.0, 10.0)
    assert (sp.per_call_j, sp.idle_j, sp.measured_j) == ([], pytest.approx(100.0),
                                                         pytest.approx(100.0))


def test_calls_estimated_at_zero_leave_the_energy_idle() -> None:
    sp = split(linear(10.0), [Share(0.0, 5.0, 0.0)], 0.0, 10.0)
    assert sp.per_call_j == [0.0] and sp.idle_j == pytest.approx(100.0)


def test_busy_intervals_merge_overlaps_and_clip_to_the_window() -> None:
    shares = [Share(-1.0, 2.0, 1), Share(1.0, 3.0, 1), Share(5.0, 20.0, 1)]
    assert busy_intervals(shares, 0.0, 10.0) == [(0.0, 3.0), (5.0, 10.0)]


def test_the_idle_floor_is_shared_by_time_and_the_rest_by_estimated_power() -> None:
    # 100 W measured, 40 W of it the GPUs' floor: two calls running together, one
    # estimated at 3x the other's power, share 40 W equally and 60 W 1:3
    shares = [Share(0.0, 10.0, 10.0), Share(0.0, 10.0, 30.0)]
    sp = split(linear(100.0), shares, 0.0, 10.0, base_w=40.0)
    assert sp.per_call_j == [pytest.approx(200.0 + 150.0), pytest.approx(200.0 + 450.0)]
    assert sp.idle_s == 0.0
    assert split(linear(100.0), [Share(0.0, 4.0, 1.0)], 0.0, 10.0).idle_s == pytest.approx(6.0)


def test_any_calls_and_any_power_sum_to_the_measurement() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    t = st.floats(-5.0, 15.0, allow_nan=False)
    call = st.tuples(t, st.floats(0.0, 10.0), st.floats(0.0, 1e4)).map(
        lambda x: Share(x[0], x[0] + x[1], x[2]))

    @settings(max_examples=200, deadline=None)
    @given(st.lists(call, max_size=12), st.floats(1.0, 1e4), st.floats(0.0, 2e4),
           st.booleans())
    def check(shares: list[Share], watts: float, base_w: float, spread: bool) -> None:
        sp = split(linear(watts), shares, 0.0, 10.0, spread_idle=spread, base_w=base_w)
        assert all(p >= 0 for p in sp.per_call_j) and sp.idle_j >= 0
        assert sum(sp.per_call_j) + sp.idle_j == pytest.approx(sp.measured_j, rel=1e-9)

    check()


def test_a_run_of_a_subnormal_duration_gets_a_finite_share() -> None:
    """Hypothesis found end - start = 1e-308: the rate was infinite and the share NaN."""
    sp = split(linear(1.0), [Share(0.0, 1.1125369292536007e-308, 2.0)], 0.0, 10.0)
    assert all(p >= 0 for p in sp.per_call_j) and sp.idle_j >= 0
    assert sum(sp.per_call_j) + sp.idle_j == pytest.approx(sp.measured_j, rel=1e-9)


def test_a_subnormal_estimate_gets_the_window_s_share_not_twice_it() -> None:
    """Hypothesis found estimate_j = 5e-324: rest * rate rounded to twice the product, so
    the call was given 3 J of a 1.5 J piece and the window summed to more than measured."""
    sp = split(linear(1.0), [Share(0.0, 1.5, 5e-324)], 0.0, 10.0)
    assert sum(sp.per_call_j) + sp.idle_j == pytest.approx(sp.measured_j, rel=1e-9)
    assert sp.per_call_j == [pytest.approx(1.5)]
