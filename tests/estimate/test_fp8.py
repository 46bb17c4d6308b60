"""Issue 18: FP8 and FP4 serving physics from the mechanism (docs/methodology.md, "FP8 and FP4").

Block-scaled FP8 experts run in grouped GEMMs that dequantise each 128x128 block: their decode
time per byte has its own fitted factor; fewer GPUs hold the same weights, so each GPU reads
more per step; prefill runs on the precision's tensor cores.
"""

from __future__ import annotations

import pytest

import wattmeter
from wattmeter.estimate._hardware import gpu, precision
from wattmeter.estimate._physics import constants
from wattmeter.estimate._text import step_terms, weight_factors

H100 = gpu("H100")


def test_fp8_experts_have_their_own_factor() -> None:
    k = dict(constants("text"))
    dense, expert = weight_factors(precision("fp8"), H100, k)
    assert dense == pytest.approx(k["weight_factor_8bit"] * H100.decode[0])
    assert expert == pytest.approx(k["weight_factor_8bit_expert"] * k["expert_factor"]
                                   * H100.decode[1])
    k.pop("weight_factor_8bit_expert")  # a physics.json without it: one 8-bit factor
    _, shared = weight_factors(precision("fp8"), H100, k)
    assert shared == pytest.approx(k["weight_factor_8bit"] * k["expert_factor"]
                                   * H100.decode[1])
    _, fp4 = weight_factors(precision("fp4"), H100, k)
    assert fp4 == pytest.approx(k["weight_factor_4bit"] * k["expert_factor"] * H100.decode[1])


def test_fewer_gpus_read_more_per_gpu() -> None:
    """The same FP8 weights on 4 GPUs instead of 8: each GPU streams twice the bytes a step."""
    k = constants("text")
    on8 = step_terms(235, 22, precision("fp8"), H100, 8, 16, k)
    on4 = step_terms(235, 22, precision("fp8"), H100, 4, 16, k)
    assert on4.mem_x == pytest.approx(2 * on8.mem_x)
    assert on4.mem_w == pytest.approx(2 * on8.mem_w)


def test_fp8_moe_saves_memory_not_decode_energy() -> None:
    """On the same 8 H100s at a small batch, the FP8 checkpoint of Qwen3-235B decodes at about
    the BF16 checkpoint's energy (ML.ENERGY v3 measured it higher); halving the bytes alone
    would halve the expert traffic."""
    dep = wattmeter.Deployment(gpu="H100", gpus=8, batch_size=8)
    bf16 = wattmeter.estimate("Qwen/Qwen3-235B-A22B-Instruct-2507", input_tokens=1000,
                              output_tokens=800, deployment=dep)
    fp8 = wattmeter.estimate("Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", input_tokens=1000,
                             output_tokens=800, deployment=dep)
    assert fp8.accelerator_wh >= 0.9 * bf16.accelerator_wh


def test_prefill_runs_on_the_precisions_tensor_cores() -> None:
    """A prefill-only request (no output) of an FP8 model costs less than its BF16 twin's:
    the FP8 tensor cores have twice the FLOP/s (datasheets, hardware.json)."""
    dep = wattmeter.Deployment(gpu="H100", gpus=8, batch_size=8)
    bf16 = wattmeter.estimate("Qwen/Qwen3-235B-A22B-Instruct-2507", input_tokens=8000,
                              deployment=dep)
    fp8 = wattmeter.estimate("Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", input_tokens=8000,
                             deployment=dep)
    assert fp8.accelerator_wh < bf16.accelerator_wh


def test_an_fp8_kv_cache_halves_the_cache_bytes_only() -> None:
    """Deployment(kv_cache="fp8") (vLLM's --kv-cache-dtype fp8): the decode step reads half
    the KV bytes per context token; prefill and a context-free decode are unchanged."""
    k = dict(constants("text"))
    shape = {"layers": 32, "kv_heads": 8, "head_dim": 128}
    bf16 = step_terms(8, 8, precision("fp8"), H100, 1, 64, k, shape)
    fp8 = step_terms(8, 8, precision("fp8"), H100, 1, 64, {**k, "kv_cache_bytes": 1.0}, shape)
    assert fp8.mem_kv == pytest.approx(bf16.mem_kv / 2) and fp8.mem_w == bf16.mem_w

    def run(kv: str | None, context: int) -> wattmeter.Footprint:
        dep = wattmeter.Deployment(gpu="H100", gpus=1, batch_size=64, kv_cache=kv)
        return wattmeter.estimate("meta-llama/Llama-3.1-8B-Instruct", "self-hosted",
                                  input_tokens=context, output_tokens=500, deployment=dep)
    long_bf16, long_fp8 = run(None, 30_000), run("fp8", 30_000)
    assert long_fp8.accelerator_wh < 0.9 * long_bf16.accelerator_wh
    assert run("bf16", 30_000).accelerator_wh == long_bf16.accelerator_wh  # the default
    # a short context: the weights dominate the step, the cache saves little
    assert run("fp8", 10).accelerator_wh > 0.9 * run(None, 10).accelerator_wh


def test_kv_cache_values_are_checked_and_normalised() -> None:
    from wattmeter.estimate._resolve import check_deployment

    assert check_deployment({"kv_cache": "FP8"}).kv_cache == "fp8"
    assert check_deployment({"kv_cache": "fp8_e4m3"}).kv_cache == "fp8"
    assert check_deployment({"kv_cache": "auto"}).kv_cache == "bf16"
    for bad in ("int3", 8, ""):
        with pytest.raises(ValueError, match=r"deployment\.kv_cache: got .*expected one of"):
            check_deployment({"kv_cache": bad})
    wattmeter.configure(deployments={"self-hosted": {"kv_cache": "fp8"}})
    try:
        fp = wattmeter.estimate("meta-llama/Llama-3.1-8B-Instruct", "self-hosted",
                                input_tokens=30_000, output_tokens=500)
    finally:
        wattmeter.configure(deployments={})
    plain = wattmeter.estimate("meta-llama/Llama-3.1-8B-Instruct", "self-hosted",
                               input_tokens=30_000, output_tokens=500)
    assert fp.accelerator_wh < plain.accelerator_wh
