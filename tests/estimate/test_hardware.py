"""Hardware table: every accelerator has its numbers and source; spellings resolve."""

from __future__ import annotations

import pytest

from wattmeter.estimate._hardware import gpu, gpu_names, precision

SHARED = ("H100", "H200", "B200", "A100", "L40S", "L4", "TPU-v5e", "TPU-v6e", "MI300X")


def test_every_shared_name_has_numbers_and_source() -> None:
    assert set(SHARED) <= set(gpu_names())
    for name in SHARED:
        g = gpu(name)
        assert 0 < g.idle_w < g.tdp_w and g.memory_gb > 0 and g.bandwidth_gbs > 0
        assert g.tflops["bf16"] > 0 and g.source and g.year >= 2020


@pytest.mark.parametrize(("spelling", "key"), [
    ("h100", "H100"), ("H100-80GB", "H100"), ("nvidia h100", "H100"), ("tpu v5e", "TPU-v5e"),
    ("TPU_V6E", "TPU-v6e"), ("trillium", "TPU-v6e"), ("mi300x", "MI300X"), ("l40s", "L40S"),
])
def test_spellings(spelling: str, key: str) -> None:
    assert gpu(spelling).key == key


def test_unknown_gpu_lists_choices() -> None:
    with pytest.raises(ValueError, match="H100, H200"):
        gpu("Z100")


def test_precisions() -> None:
    assert precision("bfloat16").bytes == 2 and precision("fp8").bytes == 1
    assert precision("awq").bytes == 0.5 and precision(None).key == "bf16"
    with pytest.raises(ValueError, match="precision"):
        precision("fp3")
