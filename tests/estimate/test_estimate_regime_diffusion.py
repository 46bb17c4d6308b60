"""A provider's diffusion service runs production attention kernels (issue 17: the physics
of each mechanism of the regime a call is served in): FlashAttention-3's share of peak as
STA measured it on HunyuanVideo, where the tuned regime keeps ML.ENERGY's xDiT stack."""

from __future__ import annotations

import pytest

from wattmeter import Deployment, estimate
from wattmeter.estimate import _api, _diffusion, _regime
from wattmeter.estimate._hardware import gpu
from wattmeter.estimate._physics import constants
from wattmeter.estimate._registry import lookup

_TUNED_ATTN = constants("diffusion")["attn_mfu"]


def test_the_constant_is_stas_measurement_counted_by_our_flops() -> None:
    # Zhang et al. 2025 (STA): HunyuanVideo, 117 frames at 1280x768 (115,200 latent
    # tokens), one H100 with FlashAttention-3: 800 of the denoiser's 945 s in attention;
    # 50 steps (its default sampler) assumed
    info = lookup("tencent/HunyuanVideo")
    assert info is not None
    fam = _diffusion.geometry(_diffusion.family("hunyuanvideo", "video"), info.shape)
    pair = _diffusion.flop_coeffs(fam, info.active_params_b, constants("diffusion"),
                                  info.shape)[1]
    tokens = 115_200 + fam.text_tokens
    flops = pair * tokens**2 * 50
    share = flops / 800.0 / gpu("H100").flops("bf16")
    assert share == pytest.approx(_regime.common("diffusion_attn_mfu")[0], rel=0.05)
    assert share > 2 * _TUNED_ATTN  # ML.ENERGY's stack took 1,689 s for the same clip


def _accel(model: str, **kw: object) -> float:
    _api.clear_cache()
    return estimate(model, **kw).accelerator_wh  # type: ignore[arg-type]


def test_provider_served_diffusion_uses_production_attention(
        monkeypatch: pytest.MonkeyPatch) -> None:
    models = ("sora-2", "google/imagen-4", "gpt-4o")
    production = {m: _accel(m) for m in models}
    real = _regime.common
    monkeypatch.setattr(_regime, "common", lambda name: (_TUNED_ATTN,) * 3
                        if name == "diffusion_attn_mfu" else real(name))
    xdit = {m: _accel(m) for m in models}
    monkeypatch.undo()
    _api.clear_cache()
    assert production["sora-2"] < 0.8 * xdit["sora-2"]  # a video is mostly attention
    assert production["google/imagen-4"] < xdit["google/imagen-4"]
    assert production["gpt-4o"] == pytest.approx(xdit["gpt-4o"])  # text: its own fleet physics


def test_self_hosted_diffusion_keeps_the_tuned_kernels() -> None:
    dep = Deployment(gpu="H100", gpus=1, batch_size=1)
    size = {"width": 1280, "height": 720, "frames": 129, "steps": 50}
    served = estimate("sora-2", "openai", deployment=Deployment(regime="provider"), **size)
    tuned = estimate("sora-2", "openai", deployment=Deployment(regime="tuned"), **size)
    assert (served.regime, tuned.regime) == ("provider", "tuned")
    assert served.accelerator_wh < tuned.accelerator_wh
    # an open model on the user's own GPU: ML.ENERGY's stack, whatever the provider says
    own = estimate("tencent/HunyuanVideo", "self-hosted", deployment=dep, **size)
    assert own.regime == "tuned"
    assert own.accelerator_wh * 3600 / 1689 == pytest.approx(700, rel=0.35)  # ~H100 TDP
