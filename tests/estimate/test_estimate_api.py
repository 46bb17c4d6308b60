"""estimate(): boundaries, units, conventions, precedence, bad input, unknown models."""

from __future__ import annotations

import math

import pytest

import wattmeter
from wattmeter import Deployment, ModelSpec, Usage, estimate
from wattmeter._footprint import INTERVAL
from wattmeter.estimate import footprint_for

TRIPLES = (("accelerator_wh", "accelerator_wh_low", "accelerator_wh_high"),
           ("server_wh", "server_wh_low", "server_wh_high"),
           ("energy_wh", "energy_wh_low", "energy_wh_high"),
           ("co2e_g", "co2e_g_low", "co2e_g_high"))


def check_consistent(fp: wattmeter.Footprint) -> None:
    """Interval order, boundary order and unit conversions of one footprint."""
    for c, lo, hi in TRIPLES:
        assert 0 <= getattr(fp, lo) <= getattr(fp, c) <= getattr(fp, hi), (c, fp)
    assert fp.accelerator_wh <= fp.server_wh <= fp.energy_wh
    assert fp.accelerator_wh_low <= fp.server_wh_low <= fp.energy_wh_low
    assert fp.accelerator_wh_high <= fp.server_wh_high <= fp.energy_wh_high
    assert math.isclose(fp.energy_wh, fp.server_wh * fp.pue, rel_tol=1e-12)
    assert math.isclose(fp.co2e_g, fp.energy_wh / 1000 * fp.grid_gco2e_per_kwh, rel_tol=1e-12)
    assert fp.method == "estimated"


def test_registered_model_with_provider() -> None:
    fp = estimate("gpt-4o", provider="openai", input_tokens=1200, output_tokens=400)
    check_consistent(fp)
    assert fp.registry_model == "openai/gpt-4o"
    assert fp.provider == "openai" and fp.operation == "chat"
    assert fp.input_tokens == 1200 and fp.output_tokens == 400
    assert 0.01 < fp.energy_wh < 10
    assert fp.energy_wh_high / fp.energy_wh_low > 1.5  # a closed model is never exact
    assert INTERVAL == (5, 95)


def test_design_examples() -> None:
    fp = estimate(ModelSpec(total_params_b=235, active_params_b=22, precision="fp8"),
                  operation="chat", input_tokens=500, output_tokens=900,
                  deployment=Deployment(gpu="H100", gpus=4, batch_size=64))
    check_consistent(fp)
    assert fp.registry_model is None
    fp = estimate("black-forest-labs/FLUX.1-dev", operation="image", width=1024, height=1024,
                  steps=50)
    check_consistent(fp)
    assert 0.5 < fp.accelerator_wh < 5  # ML.ENERGY: 1.8-2.2 Wh on one H100/B200
    fp = estimate("Wan-AI/Wan2.1-T2V-14B-Diffusers", operation="video", width=1280, height=720,
                  frames=81, steps=50)
    check_consistent(fp)
    assert 100 < fp.accelerator_wh < 1500  # Delavande et al. 2025: 359.7 Wh on one H100


def test_long_context_costs_what_physics_says() -> None:
    short = estimate("meta-llama/Llama-3.1-8B-Instruct", input_tokens=1000, output_tokens=200)
    long = estimate("meta-llama/Llama-3.1-8B-Instruct", input_tokens=100_000, output_tokens=200)
    # prefill alone grows 100x linearly plus the quadratic attention term
    assert long.accelerator_wh > 20 * short.accelerator_wh


def test_cached_tokens_are_cheaper() -> None:
    fresh = estimate("gpt-4o", "openai", input_tokens=50_000, output_tokens=100)
    cached = estimate("gpt-4o", "openai", input_tokens=50_000, cached_input_tokens=45_000,
                      output_tokens=100)
    assert cached.accelerator_wh < 0.6 * fresh.accelerator_wh
    assert cached.cached_input_tokens == 45_000


def test_reasoning_tokens_convention() -> None:
    inside = estimate("o3", "openai", input_tokens=100, output_tokens=1000, reasoning_tokens=800)
    plain = estimate("o3", "openai", input_tokens=100, output_tokens=1000)
    separate = estimate("o3", "openai", input_tokens=100, output_tokens=200,
                        reasoning_tokens=800)  # counted apart: 1000 decoded
    assert inside.energy_wh == plain.energy_wh
    assert math.isclose(separate.energy_wh, plain.energy_wh, rel_tol=0.02)


def test_every_operation() -> None:
    for model, op, kw in (
        ("text-embedding-3-small", "embeddings", {"input_tokens": 1000}),
        ("gpt-image-1", "image", {}),
        ("veo-3", "video", {"seconds": 8}),
        ("tts-1", "speech", {"characters": 600}),
        ("whisper-1", "transcription", {"audio_seconds": 120}),
        ("gpt-4o-transcribe", "transcription", {"audio_seconds": 120}),
        ("gpt-4o-mini", "completion", {"input_tokens": 10, "output_tokens": 10}),
    ):
        fp = estimate(model, operation=op, **kw)
        check_consistent(fp)
        assert fp.accelerator_wh > 0, model


def test_speech_scales_with_characters_and_seconds() -> None:
    a = estimate("tts-1", operation="speech", characters=100)
    b = estimate("tts-1", operation="speech", characters=1000)
    assert b.energy_wh > 5 * a.energy_wh
    s1 = estimate("whisper-1", operation="transcription", audio_seconds=30)
    s2 = estimate("whisper-1", operation="transcription", audio_seconds=300)
    assert s2.energy_wh > 5 * s1.energy_wh


def test_precedence_argument_over_deployment_over_config() -> None:
    wattmeter.configure(pue=1.5, grid_zone="FR")
    fp = estimate("gpt-4o", "openai", input_tokens=10, output_tokens=10)
    assert fp.pue == 1.5 and fp.grid_zone == "FR"
    fp = estimate("gpt-4o", "openai", input_tokens=10, output_tokens=10,
                  deployment=Deployment(pue=1.3, zone="DE"))
    assert fp.pue == 1.3 and fp.grid_zone == "DE"
    fp = estimate("gpt-4o", "openai", input_tokens=10, output_tokens=10, pue=1.1, zone="SE",
                  deployment=Deployment(pue=1.3, zone="DE"))
    assert fp.pue == 1.1 and fp.grid_zone == "SE"
    fp = estimate("gpt-4o", "openai", input_tokens=10, output_tokens=10, grid_intensity=100.0)
    assert fp.grid_gco2e_per_kwh == 100.0
    wattmeter.configure(grid_intensity=42.0)
    fp = estimate("gpt-4o", "openai", input_tokens=10, output_tokens=10)
    assert fp.grid_gco2e_per_kwh == 42.0


def test_configured_deployment_applies_to_provider() -> None:
    base = estimate("meta-llama/Llama-3.1-8B-Instruct", "self-hosted", input_tokens=500,
                    output_tokens=500)
    wattmeter.configure(deployments={"self-hosted": {"gpu": "L4", "gpus": 1, "batch_size": 1}})
    slow = estimate("meta-llama/Llama-3.1-8B-Instruct", "self-hosted", input_tokens=500,
                    output_tokens=500)
    assert slow.accelerator_wh != base.accelerator_wh


def test_unknown_model_warns_with_wide_range() -> None:
    fp = estimate("acme-chat-70b-v9", input_tokens=100, output_tokens=100)
    check_consistent(fp)
    assert fp.registry_model is None
    assert any("unknown model" in w for w in fp.warnings)
    assert fp.accelerator_wh_high / fp.accelerator_wh_low > 10
    small = estimate("acme-nano", input_tokens=100, output_tokens=100)
    assert small.accelerator_wh < fp.accelerator_wh


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"input_tokens": -1}, "input_tokens"),
    ({"output_tokens": 1.5}, "output_tokens"),
    ({"output_tokens": True}, "output_tokens"),
    ({"input_tokens": 10**10}, "input_tokens"),
    ({"input_tokens": 5, "cached_input_tokens": 10}, "cached_input_tokens"),
    ({"operation": "dance"}, "operation"),
    ({"deployment": Deployment(gpu="Z100")}, "gpu"),
    ({"deployment": Deployment(gpus=0)}, "gpus"),
    ({"zone": "Atlantis"}, "zone"),
    ({"pue": 0.5}, "pue"),
    ({"operation": "image", "width": 10**6, "height": 10**6}, "width"),
    ({"operation": "video", "frames": -3}, "frames"),
])
def test_bad_input_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        estimate("gpt-4o", **kwargs)


def test_bad_operation_lists_choices() -> None:
    with pytest.raises(ValueError, match="chat, completion, embeddings"):
        estimate("gpt-4o", operation="dance")


def test_bad_model_spec() -> None:
    with pytest.raises(ValueError, match="total_params_b"):
        estimate(ModelSpec(total_params_b=-1))
    with pytest.raises(ValueError, match="precision"):
        estimate(ModelSpec(total_params_b=7, precision="fp3"))


def test_gpu_spellings() -> None:
    a = estimate(ModelSpec(8), input_tokens=10, output_tokens=10,
                 deployment=Deployment(gpu="h100-80gb", gpus=1, batch_size=8))
    b = estimate(ModelSpec(8), input_tokens=10, output_tokens=10,
                 deployment=Deployment(gpu="H100", gpus=1, batch_size=8))
    assert a.energy_wh == b.energy_wh
    estimate(ModelSpec(8), deployment=Deployment(gpu="tpu v5e"))


def test_footprint_for_error_with_no_tokens_is_tiny() -> None:
    u = Usage("openai", "gpt-4o", "chat", outcome="error")
    fp = footprint_for(u, team="t", labels={"a": "b"}, timestamp=5.0)
    check_consistent(fp)
    assert fp.outcome == "error" and fp.team == "t" and fp.timestamp == 5.0
    assert fp.accelerator_wh < 0.001
    ok = footprint_for(Usage("openai", "gpt-4o", "chat", input_tokens=100, output_tokens=100,
                             warnings=["tokens estimated"]), team="t", labels={})
    assert ok.accelerator_wh > fp.accelerator_wh and "tokens estimated" in ok.warnings


ESTIMATED = (
    *(f for triple in TRIPLES for f in triple), "grid_zone", "grid_gco2e_per_kwh", "pue",
    "registry_model", "warnings", "input_tokens", "output_tokens", "cached_input_tokens",
    "reasoning_tokens")


def test_footprint_for_matches_estimate() -> None:
    """`estimate()` inlines the text arithmetic of `footprint_for()`: every estimated field
    of the two paths must agree exactly."""
    u = Usage("openai", "gpt-4o", "chat", input_tokens=300, output_tokens=50,
              cached_input_tokens=100, reasoning_tokens=20)
    fp = footprint_for(u, team="default", labels={})
    est = estimate("gpt-4o", "openai", input_tokens=300, output_tokens=50,
                   cached_input_tokens=100, reasoning_tokens=20)
    assert fp.energy_wh == est.energy_wh
    for field in ESTIMATED:
        assert getattr(fp, field) == getattr(est, field), field
    img = footprint_for(Usage("openai", "gpt-image-1", "image", images=2, width=1024,
                              height=1024), team="x", labels={})
    check_consistent(img)
    est = estimate("gpt-image-1", "openai", "image", images=2, width=1024, height=1024)
    for field in ESTIMATED:
        assert getattr(img, field) == getattr(est, field), field


def test_registry_change_drops_cache() -> None:
    from wattmeter.estimate import _registry

    try:
        wattmeter.register_model("acme/tiny-chat", total_params_b=1.0, provider="acme")
        a = estimate("acme/tiny-chat", input_tokens=100, output_tokens=100)
        assert a.registry_model == "acme/tiny-chat"
        wattmeter.register_model("acme/tiny-chat", total_params_b=100.0, provider="acme")
        b = estimate("acme/tiny-chat", input_tokens=100, output_tokens=100)
        assert b.accelerator_wh > a.accelerator_wh
    finally:
        _registry._reset_for_tests()
