"""The accuracy targets of issue 2 hold on the ML.ENERGY reference (benchmarks/accuracy.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "reference"
pytestmark = pytest.mark.skipif(not (REFERENCE / "mlenergy-calibration.csv").is_file(),
                                reason="reference measurements not present")


def test_accuracy_targets() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import accuracy
    finally:
        sys.path.pop(0)
    figs = accuracy.summarize(accuracy.load_rows(REFERENCE))
    for kind in ("llm", "image", "video"):
        f = figs[kind]
        assert f["given_median_ratio"] <= 1.2, (kind, f)
        assert f["given_within_1.5"] >= 0.85, (kind, f)
        assert f["unknown_coverage"] >= 0.80, (kind, f)
        assert f["unknown_median_width"] <= (12 if kind == "llm" else 6), (kind, f)
