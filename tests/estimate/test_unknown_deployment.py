"""The prior of a self-hosted open model called without a `Deployment` (issue 18): the batch
a request sees, the central as the draws' median, and replicas that fit one node."""

from __future__ import annotations

import math
import statistics
from typing import Any

import pytest

import wattmeter
from wattmeter.estimate import _api, _coefficients, _text
from wattmeter.estimate._hardware import gpu, precision
from wattmeter.estimate._physics import constants

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"
REQ = {"input_tokens": 1000, "output_tokens": 300}  # the Monte Carlo's reference request


def test_batch_prior_spans_a_light_replica_to_the_schedulers_cap() -> None:
    k = constants("text")
    assert k["batch_p5"] == 4  # a request on a developer's or an internal tool's replica
    assert k["batch_p95"] == 1024  # vLLM V1's default max_num_seqs on data-centre GPUs
    assert k["batch_median"] == pytest.approx(math.sqrt(k["batch_p5"] * k["batch_p95"]))


def _acc_ratios(monkeypatch: pytest.MonkeyPatch, **kw: Any) -> list[list[float]]:
    """Per-draw accelerator ratios (draw / central) of prefill and decode, model error off."""
    monkeypatch.setitem(constants("text"), "model_error_sigma", 0.0)
    seen: list[list[float]] = []
    real = _coefficients._pct

    def spy(xs: list[float], wts: list[float], q: float) -> float:
        if q == 0.05:
            seen.append(list(xs))
        return real(xs, wts, q)

    monkeypatch.setattr(_coefficients, "_pct", spy)
    _api.clear_cache()
    try:
        wattmeter.estimate(LLAMA_8B, **REQ, **kw)
    finally:
        _api.clear_cache()
    return seen[:2]  # the accelerator boundary comes first


def test_unknown_central_is_the_draws_median(monkeypatch: pytest.MonkeyPatch) -> None:
    # the nominal replica (H100, batch median, the GPUs memory needs) sat x0.75-0.9 below
    # the draws' median: the central was not the middle of its own interval
    for xs in _acc_ratios(monkeypatch):
        assert statistics.median(xs) == pytest.approx(1.0)
        assert max(xs) / min(xs) > 1.5  # the draws do vary (GPU; and batch in decode)


def test_given_deployment_keeps_its_own_central(monkeypatch: pytest.MonkeyPatch) -> None:
    dep = wattmeter.Deployment(gpu="H100", gpus=1, batch_size=64)
    for xs in _acc_ratios(monkeypatch, deployment=dep):
        assert xs == pytest.approx([1.0] * len(xs))


def test_unknown_interval_holds_a_light_and_a_saturated_replica() -> None:
    fp = wattmeter.estimate(LLAMA_8B, **REQ)
    for batch in (4, 1024):
        dep = wattmeter.Deployment(gpu="H100", gpus=1, batch_size=batch)
        wh = wattmeter.estimate(LLAMA_8B, deployment=dep, **REQ).accelerator_wh
        assert fp.accelerator_wh_low <= wh <= fp.accelerator_wh_high, batch
    assert fp.accelerator_wh_low < fp.accelerator_wh < fp.accelerator_wh_high


def test_a_replica_is_drawn_where_it_fits_one_node() -> None:
    k = constants("text")
    mix = [(gpu(n), w) for n, w in (("H100", 0.45), ("A100", 0.2), ("H200", 0.15),
                                    ("B200", 0.1), ("L40S", 0.05), ("L4", 0.05))]
    bf16 = precision("bf16")
    # 405B bf16 x 1.3 headroom = 1,053 GB: 8 x H200 or B200, not 16 H100 or 64 L4
    assert [g.key for g, _ in _text.node_mix(mix, 405, bf16, k)] == ["H200", "B200"]
    assert _text.node_mix(mix, 8, bf16, k) == mix
    # fits no node: the accelerators that need the fewest (3,000B bf16 = 7.8 TB: 64 x B200
    # against 64 x H200 rounded up to a power of two, 128 x H100, 512 x L4)
    assert [g.key for g, _ in _text.node_mix(mix, 3000, bf16, k)] == ["H200", "B200"]
    assert [g.key for g, _ in _text.node_mix(mix[4:], 3000, bf16, k)] == ["L40S"]


def test_a_model_no_node_holds_is_not_drawn_on_small_gpus() -> None:
    """A 2.8T-parameter MoE with no deployment given: before, every GPU of the mix was drawn
    (hundreds of L4s) and the central read 17 Wh for a 400 + 400-token chat, x267 wide."""
    fp = wattmeter.estimate("moonshotai/Kimi-K3", **REQ)
    on_b200 = wattmeter.estimate("moonshotai/Kimi-K3", deployment=wattmeter.Deployment(
        gpu="B200"), **REQ)
    assert fp.accelerator_wh < 1.5 * on_b200.accelerator_wh
    assert fp.accelerator_wh_high < 1.5 * on_b200.accelerator_wh_high
