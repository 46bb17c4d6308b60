"""The mechanisms of issue 9: architecture facts, expert reads, Mamba state, diffusion
geometry, and intervals that widen with what is unknown about a model."""

from __future__ import annotations

import pytest

import wattmeter
from wattmeter.estimate import _diffusion, _text
from wattmeter.estimate._hardware import gpu, precision
from wattmeter.estimate._model_entries import build_model
from wattmeter.estimate._physics import constants
from wattmeter.estimate._registry import lookup

H100x8 = wattmeter.Deployment(gpu="H100", gpus=8, batch_size=64)


def test_kv_bytes_from_gqa_and_mla() -> None:
    k = constants("text")
    llama = lookup("meta-llama/Llama-3.1-8B-Instruct")
    assert llama is not None
    # 32 layers x 8 KV heads x 128 dims x (K, V) x 2 bytes = 128 KiB
    assert _text.kv_bytes_per_token(8, 8, k, llama.shape) == 131072
    ds = lookup("deepseek-ai/DeepSeek-V3")
    assert ds is not None
    # MLA: 61 layers x (512 latent + 64 RoPE) x 2 bytes, ~6x below the size law (GQA-like)
    assert _text.kv_bytes_per_token(671, 37, k, ds.shape) == 61 * 576 * 2
    assert _text.kv_bytes_per_token(671, 37, k) > 5 * 61 * 576 * 2


def test_experts_read_grow_with_the_batch() -> None:
    shape = {"experts": 128, "experts_active": 8}
    dense1, experts1 = _text.weights_read_b(235, 22, 1, shape)
    dense_big, experts_big = _text.weights_read_b(235, 22, 4096, shape)
    assert dense1 == dense_big
    assert dense1 + experts1 == pytest.approx(22)
    assert dense_big + experts_big == pytest.approx(235)
    assert _text.weights_read_b(70, 70, 64) == (70, 0.0)


def test_mamba_state_costs_per_sequence() -> None:
    nemo = lookup("nvidia/NVIDIA-Nemotron-Nano-9B-v2")
    assert nemo is not None and nemo.architecture == "hybrid"
    k = constants("text")
    g, p = gpu("H100"), precision("bf16")
    with_state = _text.step_terms(8.9, 8.9, p, g, 1, 256, k, nemo.shape)
    attention_only = {key: v for key, v in nemo.shape.items() if not key.startswith("mamba")}
    without = _text.step_terms(8.9, 8.9, p, g, 1, 256, k, attention_only)
    assert with_state.mem_s > 0 == without.mem_s
    # only its 4 attention layers hold a KV cache
    assert with_state.mem_kv < _text.step_terms(8.9, 8.9, p, g, 1, 256, k).mem_kv / 5


def test_low_bit_weights_pay_dequantisation() -> None:
    k = constants("text")
    f8, _ = _text.weight_factors(precision("fp8"), gpu("H100"), k)
    f4, _ = _text.weight_factors(precision("fp4"), gpu("H100"), k)
    assert f8 > 1.0  # FP8 block-scaled weights stream slower per byte than bf16 ...
    assert f8 * 1.0 < 2.0 and f4 * 0.5 < 2.0  # ... but a parameter still costs less time
    a = wattmeter.estimate("meta-llama/Llama-3.1-405B-Instruct", output_tokens=500,
                           input_tokens=500, deployment=H100x8)
    b = wattmeter.estimate("meta-llama/Llama-3.1-405B-Instruct-FP8", output_tokens=500,
                           input_tokens=500, deployment=H100x8)
    assert b.accelerator_wh < a.accelerator_wh  # half the bytes, though not half the time


def test_model_geometry_overrides_the_family() -> None:
    wan5 = lookup("Wan-AI/Wan2.2-TI2V-5B-Diffusers")
    assert wan5 is not None and wan5.shape["vae"] == 16
    fam = _diffusion.family("wan", "video")
    assert _diffusion.geometry(fam, wan5.shape).vae == 16 and fam.vae == 8
    req = {"operation": "video", "width": 1280, "height": 704, "frames": 121, "steps": 50}
    own = wattmeter.estimate("Wan-AI/Wan2.2-TI2V-5B-Diffusers", **req).accelerator_wh
    as_family = wattmeter.estimate(wattmeter.ModelSpec(5.0, family="wan", modality="video"),
                                   **req).accelerator_wh
    assert own < as_family / 2  # 4x fewer latent tokens per frame


def test_mfu_grows_with_width() -> None:
    k = constants("diffusion")
    fam = _diffusion.family("wan", "video")
    small = _diffusion.mfu(fam, 1.3, k, {"width": 1536})
    large = _diffusion.mfu(fam, 14.0, k, {"width": 5120})
    assert 0 < small < large <= k["mfu_max"]


def _width(fp: wattmeter.Footprint) -> float:
    return fp.accelerator_wh_high / fp.accelerator_wh_low


def test_interval_widens_with_what_is_unknown() -> None:
    req = {"input_tokens": 500, "output_tokens": 500, "deployment": H100x8}
    known = _width(wattmeter.estimate("Qwen/Qwen3-235B-A22B-Instruct-2507", **req))
    spec = _width(wattmeter.estimate(wattmeter.ModelSpec(235, 22), **req))
    guessed = _width(wattmeter.estimate("acme-frontier-235b-a22b", **req))
    assert known < spec < guessed
    far = _width(wattmeter.estimate(wattmeter.ModelSpec(3000, 100), **req))
    assert far > spec
    img = {"operation": "image", "width": 1024, "height": 1024, "steps": 28}
    fam = _width(wattmeter.estimate(wattmeter.ModelSpec(12, family="flux", modality="image"),
                                    **img))
    nofam = _width(wattmeter.estimate(wattmeter.ModelSpec(12, modality="image"), **img))
    assert nofam > fam


def test_shape_is_validated() -> None:
    with pytest.raises(ValueError, match=r"shape.*'experts_total' is unknown"):
        build_model("m", total_params_b=8, shape={"experts_total": 8, "source": "x"})
    with pytest.raises(ValueError, match=r"shape.*source"):
        build_model("m", total_params_b=8, shape={"layers": 32})
    with pytest.raises(ValueError, match=r"shape.*layers.*positive"):
        build_model("m", total_params_b=8, shape={"layers": -1, "source": "x"})
    m = build_model("m", total_params_b=8, shape={"layers": 32, "source": "config.json"})
    assert m.shape["layers"] == 32.0


def test_every_shape_in_the_registry_names_its_source() -> None:
    from wattmeter.estimate._registry import all_models

    shaped = [m for m in all_models() if m.shape]
    assert len(shaped) >= 40
    assert all(m.shape["source"] for m in shaped)


def test_hybrids_are_recognised_by_name() -> None:
    from wattmeter.estimate._resolve import resolve

    s = resolve("Zyphra/Zamba2-7B-instruct", None, "chat")
    assert s.architecture == "hybrid" and s.shape["mamba_layers"] > s.shape["attention_layers"]
    assert resolve("acme-dense-7b", None, "chat").architecture == "dense"
    fp = wattmeter.estimate("nvidia/Nemotron-H-8B-Base-8K", input_tokens=500, output_tokens=500)
    assert fp.accelerator_wh > 0 and fp.warnings


def test_a_quantised_name_keeps_its_precision() -> None:
    from wattmeter.estimate._resolve import resolve

    s = resolve("meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", None, "chat")
    assert s.registry_model == "meta-llama/Llama-4-Maverick-17B-128E-Instruct"
    assert s.precision == "fp8" and s.shape["experts"] == 128
    assert resolve("Qwen/Qwen3-Coder-480B-A35B-Instruct", None, "chat").precision == "bf16"
    assert resolve("Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", None, "chat").precision == "fp8"
    assert resolve("Qwen/Qwen3-32B-AWQ", None, "chat").precision == "int4"
