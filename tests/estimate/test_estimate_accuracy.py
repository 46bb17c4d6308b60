"""Leave-one-model-out accuracy on the ML.ENERGY reference in the repository (issue 9).

Runs benchmarks/accuracy.py's evaluation: every fitted constant is refitted without the
model being predicted. Where a target of issue 9 is met it is asserted; where it is not
(text deployment unknown), the figure reached is guarded against regression
and the gap is stated here and in docs/methodology.md.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lomo() -> tuple[Any, dict[str, dict[str, float]], list[dict[str, Any]]]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import accuracy
    finally:
        sys.path.pop(0)
    results = accuracy.evaluate(accuracy.load_rows(), lomo=True)
    return accuracy, accuracy.summarize(results), results


def test_reference_is_in_the_repository() -> None:
    ref = ROOT / "benchmarks" / "reference"
    assert (ref / "mlenergy-calibration.csv").is_file()
    assert "ML.ENERGY" in (ref / "README.md").read_text(encoding="utf-8")


def test_deployment_given_targets(lomo: Any) -> None:
    _, figs, _ = lomo
    for kind in ("llm (chat+gpqa)", "image", "video"):
        assert figs[kind]["given_median_ratio"] <= 1.2, (kind, figs[kind])
        assert figs[kind]["given_within_1.5"] >= 0.85, (kind, figs[kind])
    assert figs["code completion"]["given_median_ratio"] <= 1.5, figs["code completion"]
    # image reached 1.19 / 90.9% once multi-GPU runs pay xDiT's per-layer exchanges (a
    # latency floor, ring hops where the Ulysses degree cannot divide the heads): guard it
    assert figs["image"]["given_within_1.5"] >= 0.89, figs["image"]


def test_diffusion_models_biased_within_x1_5(lomo: Any) -> None:
    # per-token weights and joint/cross text from the architecture brought SANA from x0.54
    accuracy, _, results = lomo
    for model, (_, given, _) in accuracy.bias_by_model(results).items():
        if accuracy.kind_of({"task": _task(results, model)}) != "llm":
            assert 1 / 1.5 <= given <= 1.5, (model, given)


def _task(results: Any, model: str) -> str:
    return next(x["row"]["task"] for x in results if x["row"]["model_id"] == model)


def test_deployment_unknown_intervals(lomo: Any) -> None:
    _, figs, _ = lomo
    for kind in ("image", "video"):
        assert figs[kind]["unknown_coverage"] >= 0.85, (kind, figs[kind])
        assert figs[kind]["unknown_median_width"] <= 4.4, (kind, figs[kind])
    text = figs["llm (chat+gpqa)"]
    assert text["unknown_coverage"] >= 0.85, text
    # issue 18 asks a median width <= 15; reached: 21.4 with the batch a request sees on a
    # replica of unknown load, 4 (a light one) to 1,024 (the scheduler's cap): guard it
    assert text["unknown_median_width"] <= 24.0, text
    assert figs["code completion"]["unknown_coverage"] >= 0.85, figs["code completion"]


def test_no_model_biased_beyond_x1_5(lomo: Any) -> None:
    # issue 18: with the deployment given, no model beyond x1.5 (FP8 MoE experts read at
    # their own, block-scaled rate brought Qwen3-235B FP8 from x0.72 to x0.81)
    accuracy, _, results = lomo
    for model, (_, given, _) in accuracy.bias_by_model(results).items():
        assert 1 / 1.5 <= given <= 1.5, (model, given)


def test_low_precision_rows(lomo: Any) -> None:
    _, figs, _ = lomo
    for kind in ("llm fp8", "llm mxfp4"):
        assert figs[kind]["given_median_ratio"] <= 1.25, (kind, figs[kind])
        assert figs[kind]["given_within_1.5"] >= 0.9, (kind, figs[kind])


def test_ecologits_is_optional(lomo: Any) -> None:
    accuracy, _, _ = lomo
    line = accuracy._ecologits_line(accuracy.load_rows())
    assert "EcoLogits" in line


def test_batch_bottom_is_undone(lomo: Any) -> None:
    """The prior-sensitivity line swaps the batch prior for one run and puts it back."""
    from wattmeter.estimate._physics import constants

    accuracy, _, results = lomo
    kt = constants("text")
    before = dict(kt)
    with accuracy.batch_bottom(8.0) as median:
        assert kt["batch_p5"] == 8.0
        assert median == pytest.approx((8.0 * kt["batch_p95"]) ** 0.5)
    assert constants("text") == before
    assert 0.9 <= accuracy.unknown_ceiling(results) <= 1.0
