"""Autoregressive image models (gpt-image-1, Gemini 2.5 Flash Image): image tokens decoded
through the text physics of the model's own size, plus the prompt as input."""

from __future__ import annotations

import pytest

import wattmeter
from wattmeter import ModelSpec, Usage
from wattmeter.estimate import footprint_for


def _as_chat(model: str, input_tokens: int, output_tokens: int) -> float:
    """The same model's size through the text path (the registry's modality aside)."""
    return wattmeter.estimate(model, operation="chat", input_tokens=input_tokens,
                              output_tokens=output_tokens).accelerator_wh


@pytest.mark.parametrize(("model", "tokens"), [("gpt-image-1", 1056),
                                               ("gpt-image-1-mini", 1056),
                                               ("gemini-2.5-flash-image", 1290)])
def test_one_default_image_is_its_image_tokens_decoded(model: str, tokens: int) -> None:
    fp = wattmeter.estimate(model, operation="image", input_tokens=60)
    assert fp.accelerator_wh == pytest.approx(_as_chat(model, 60, tokens), rel=1e-9)
    assert fp.energy_wh < 5.0  # not a ~110B diffusion model (~189 Wh per image)
    assert fp.energy_wh_low < fp.energy_wh < fp.energy_wh_high
    assert fp.operation == "image" and fp.warnings == ()


def test_size_scales_the_tokens_and_images_multiply_the_decode() -> None:
    # OpenAI publishes 1,584 medium-quality tokens for 1024x1536 (1.5 x 1,056)
    tall = wattmeter.estimate("gpt-image-1", operation="image", input_tokens=60, width=1024,
                              height=1536)
    assert tall.accelerator_wh == pytest.approx(_as_chat("gpt-image-1", 60, 1584), rel=1e-9)
    one = wattmeter.estimate("gpt-image-1", operation="image", input_tokens=60)
    three = wattmeter.estimate("gpt-image-1", operation="image", input_tokens=60, images=3)
    prompt = _as_chat("gpt-image-1", 60, 0)
    assert three.accelerator_wh - prompt == pytest.approx(3 * (one.accelerator_wh - prompt))


def test_reported_image_tokens_are_used_and_narrow_the_range() -> None:
    """The Images API reports gpt-image-1's output tokens (they reflect the quality)."""
    unknown = wattmeter.estimate("gpt-image-1", operation="image", input_tokens=60)
    high = wattmeter.estimate("gpt-image-1", operation="image", input_tokens=60,
                              output_tokens=4160)
    assert high.accelerator_wh == pytest.approx(_as_chat("gpt-image-1", 60, 4160), rel=1e-9)
    medium = wattmeter.estimate("gpt-image-1", operation="image", input_tokens=60,
                                output_tokens=1056)
    assert medium.energy_wh == pytest.approx(unknown.energy_wh)
    # unknown quality (272-4,160 tokens) widens the range; reported tokens don't carry it
    assert unknown.energy_wh_high / unknown.energy_wh_low > (
        medium.energy_wh_high / medium.energy_wh_low)
    assert unknown.energy_wh_high > high.energy_wh
    # two images reported together: the total is split between them
    two = wattmeter.estimate("gpt-image-1", operation="image", input_tokens=60, images=2,
                             output_tokens=2112)
    assert two.energy_wh == pytest.approx(
        wattmeter.estimate("gpt-image-1", operation="image", input_tokens=60, images=2,
                           output_tokens=0).energy_wh)


def test_metered_call_matches_estimate() -> None:
    usage = Usage("openai", "gpt-image-1", "image", input_tokens=60, output_tokens=1584,
                  images=1, width=1024, height=1536)
    fp = footprint_for(usage, team="t", labels={})
    est = wattmeter.estimate("gpt-image-1", "openai", "image", input_tokens=60,
                             output_tokens=1584, width=1024, height=1536)
    assert (fp.energy_wh, fp.energy_wh_low, fp.energy_wh_high, fp.co2e_g) == (
        est.energy_wh, est.energy_wh_low, est.energy_wh_high, est.co2e_g)
    # no tokens reported (e.g. a proxy that drops usage): defaults and the wider range
    bare = footprint_for(Usage("openai", "gpt-image-1", "image", images=1), team="t",
                         labels={})
    assert bare.energy_wh == pytest.approx(
        wattmeter.estimate("gpt-image-1", "openai", "image").energy_wh)
    assert bare.energy_wh_high / bare.energy_wh > fp.energy_wh_high / fp.energy_wh


def test_model_spec_autoregressive_image() -> None:
    spec = ModelSpec(total_params_b=20, modality="image", architecture="autoregressive")
    fp = wattmeter.estimate(spec, operation="image", input_tokens=10)
    text = wattmeter.estimate(ModelSpec(total_params_b=20), operation="chat", input_tokens=10,
                              output_tokens=1056)  # physics.json image_tokens default
    assert fp.accelerator_wh == pytest.approx(text.accelerator_wh, rel=1e-9)
