"""Image and video requests: closed models' assumed steps, clip counts, duration given as
seconds and fps."""

from __future__ import annotations

import pytest

import wattmeter
from wattmeter.estimate._diffusion import family
from wattmeter.estimate._registry import all_models

CLOSED = sorted(m.id for m in all_models()
                if m.family in ("closed-video", "closed-image")
                and m.architecture != "autoregressive" and "steps" not in m.defaults)


def test_closed_families_have_a_sourced_step_range() -> None:
    for name in ("closed-video", "closed-image"):
        fam = family(name, "video" if "video" in name else "image")
        assert fam.key == name
        assert fam.steps_low < fam.default_steps < fam.steps_high
        assert "Assumption" in fam.source and "distill" in fam.source
    assert {"openai/sora-2", "google/veo-3", "runway/gen-4", "kuaishou/kling-v2",
            "openai/dall-e-3", "google/imagen-4"} <= set(CLOSED)


@pytest.mark.parametrize("model", ["sora-2", "veo-3", "gen-4", "dall-e-3", "imagen-3"])
def test_closed_model_steps_are_assumed_with_their_range(model: str) -> None:
    op = "image" if model in ("dall-e-3", "imagen-3") else "video"
    fam = family(f"closed-{op}", op)
    assumed = wattmeter.estimate(model, operation=op)
    given = wattmeter.estimate(model, operation=op, steps=fam.default_steps)
    assert assumed.energy_wh == pytest.approx(given.energy_wh)  # central: the family's steps
    # unknown steps widen the interval; steps the call gives don't carry that spread
    assert (assumed.energy_wh_high / assumed.energy_wh_low
            > 1.5 * given.energy_wh_high / given.energy_wh_low)
    for steps in (8, 30):  # the interval spans distilled and undistilled samplers
        central = wattmeter.estimate(model, operation=op, steps=steps).energy_wh
        assert assumed.energy_wh_low < central < assumed.energy_wh_high
    assert assumed.energy_wh_low <= assumed.energy_wh <= assumed.energy_wh_high


def test_sora_2_is_no_longer_a_50_step_model() -> None:
    clip = wattmeter.estimate("sora-2", operation="video")
    fifty = wattmeter.estimate("sora-2", operation="video", steps=50)
    assert clip.accelerator_wh == pytest.approx(fifty.accelerator_wh * 14 / 50, rel=0.05)
    assert clip.accelerator_wh < 200 < fifty.accelerator_wh  # ~545 Wh before


def test_open_model_steps_unchanged() -> None:
    """Open models keep their model card's steps and their narrower interval."""
    wan = wattmeter.estimate("Wan-AI/Wan2.1-T2V-14B-Diffusers", operation="video")
    assert wan == wattmeter.estimate("Wan-AI/Wan2.1-T2V-14B-Diffusers", operation="video",
                                     steps=50)
