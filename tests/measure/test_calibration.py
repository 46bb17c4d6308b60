"""Calibration: the learned ratio, and its one lookup inside footprint_for."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wattmeter._usage import Usage
from wattmeter.estimate import footprint_for
from wattmeter.estimate._calibration import RATIOS, Calibration, clear
from wattmeter.measure._calibrate import MEASURED_SPREAD, Learner, weighted_quantile

MODEL = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture(autouse=True)
def _empty() -> Iterator[None]:
    clear()
    yield
    clear()


def usage(port: int = 8000) -> Usage:
    return Usage("self-hosted", MODEL, "chat", input_tokens=500, output_tokens=200,
                 server_address="127.0.0.1", server_port=port)


def test_an_estimate_has_no_window() -> None:
    fp = footprint_for(usage(), team="t", labels={})
    assert (fp.method, fp.window_start, fp.window_end) == ("estimated", 0.0, 0.0)


def test_a_calibrated_endpoint_scales_the_estimate_and_narrows_its_range() -> None:
    est = footprint_for(usage(), team="t", labels={})
    RATIOS[("127.0.0.1", 8000)] = Calibration(2.0, 0.9, 1.1)
    fp = footprint_for(usage(), team="t", labels={})
    assert fp.method == "calibrated"
    for name in ("energy_wh", "accelerator_wh", "server_wh", "co2e_g", "water_ml"):
        assert getattr(fp, name) == pytest.approx(2 * getattr(est, name))
    assert fp.energy_wh_low == pytest.approx(fp.energy_wh * 0.9)
    assert fp.energy_wh_high / fp.energy_wh_low < est.energy_wh_high / est.energy_wh_low
    # another endpoint is untouched
    assert footprint_for(usage(9000), team="t", labels={}).method == "estimated"


def test_the_ratio_is_a_decaying_median_robust_to_one_odd_window() -> None:
    learner = Learner(half_life=4)
    for _ in range(10):
        learner.learn(("h", 1), 1.5)
    cal = learner.learn(("h", 1), 40.0)  # one absurd window
    assert cal.ratio == pytest.approx(1.5)
    assert RATIOS[("h", 1)] == cal
    for _ in range(12):  # the deployment changed: recent windows take over
        cal = learner.learn(("h", 1), 3.0)
    assert cal.ratio == pytest.approx(3.0)
    assert cal.low <= MEASURED_SPREAD[0] and cal.high >= MEASURED_SPREAD[1]
    learner.forget()
    assert ("h", 1) not in RATIOS


def test_weighted_quantile() -> None:
    assert weighted_quantile([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], 0.5) == 2.0
    assert weighted_quantile([1.0, 2.0, 3.0], [0.1, 0.1, 5.0], 0.5) == 3.0
    with pytest.raises(ValueError, match="half_life"):
        Learner(half_life=0)
