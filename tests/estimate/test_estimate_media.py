"""Image and video requests: closed models' assumed steps, clip counts, duration given as
seconds and fps."""

from __future__ import annotations

from typing import Any

import pytest

import wattmeter
from wattmeter import Usage
from wattmeter.estimate import footprint_for
from wattmeter.estimate._diffusion import family
from wattmeter.estimate._registry import all_models
from wattmeter.testing import capture

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
    # ~545 Wh at 50 steps and full attention before; the attention window since regimes/3
    assert clip.accelerator_wh < 100 < fifty.accelerator_wh


def test_open_model_steps_unchanged() -> None:
    """Open models keep their model card's steps and their narrower interval."""
    wan = wattmeter.estimate("Wan-AI/Wan2.1-T2V-14B-Diffusers", operation="video")
    assert wan == wattmeter.estimate("Wan-AI/Wan2.1-T2V-14B-Diffusers", operation="video",
                                     steps=50)


# ----------------------------------------------------------------- clip count (images)
VEO = dict(width=1920, height=1080, seconds=6.0, fps=24.0, frames=144)


@pytest.mark.parametrize("model", ["veo-3.0-generate-001", "sora-2",
                                   "Wan-AI/Wan2.1-T2V-14B-Diffusers"])
def test_video_energy_is_per_clip_times_clips(model: str) -> None:
    one = wattmeter.estimate(model, operation="video", **VEO)
    assert one == wattmeter.estimate(model, operation="video", images=1, **VEO)  # default 1
    three = wattmeter.estimate(model, operation="video", images=3, **VEO)
    for field in ("accelerator_wh", "energy_wh", "energy_wh_low", "energy_wh_high",
                  "co2e_g", "co2e_g_high"):
        assert getattr(three, field) == pytest.approx(3 * getattr(one, field), rel=1e-6)


def test_metered_video_multiplies_by_clips() -> None:
    """The google-genai instrumentation puts the clip count in `Usage.images`, with the
    duration and frames of one clip."""
    def usage(clips: int | None) -> Usage:
        return Usage("google", "veo-3.0-generate-001", "video", images=clips,
                     width=1920, height=1080, fps=24.0, video_seconds=6.0, frames=144)

    one = footprint_for(usage(1), team="t", labels={})
    assert footprint_for(usage(None), team="t", labels={}) == one
    two = footprint_for(usage(2), team="t", labels={})
    assert two.energy_wh == pytest.approx(2 * one.energy_wh, rel=1e-6)
    assert two.energy_wh_high == pytest.approx(2 * one.energy_wh_high, rel=1e-6)
    assert one.energy_wh == pytest.approx(
        wattmeter.estimate("veo-3.0-generate-001", "google", "video", **VEO).energy_wh)


def test_google_genai_clips_end_to_end(simulator: Any) -> None:
    """Real google-genai client against the simulator: two Veo clips cost two clips."""
    genai = pytest.importorskip("google.genai")
    from google.genai import types

    wattmeter.instrument("google_genai")
    client = genai.Client(vertexai=True, api_key="sim-key",
                          http_options=types.HttpOptions(base_url=simulator.url))
    with capture() as fps:
        for n in (1, 2):
            op = client.models.generate_videos(
                model="veo-3.0-generate-001", source=types.GenerateVideosSource(prompt="a"),
                config=types.GenerateVideosConfig(number_of_videos=n, duration_seconds=6,
                                                  resolution="1080p"))
            while not op.done:
                op = client.operations.get(op)
    one, two = fps
    assert two.energy_wh == pytest.approx(2 * one.energy_wh, rel=1e-6)
    assert one.energy_wh == pytest.approx(
        wattmeter.estimate("veo-3.0-generate-001", "google", "video", **VEO).energy_wh)


# ----------------------------------------------------------------- duration
WAN = "Wan-AI/Wan2.1-T2V-14B-Diffusers"


def test_seconds_and_fps_instead_of_frames() -> None:
    by_frames = wattmeter.estimate(WAN, operation="video", width=1280, height=720, frames=81)
    for kw in ({"seconds": 5, "fps": 16}, {"seconds": 5.0, "fps": 16.0},
               {"seconds": 5}):  # Wan's card: 16 fps
        fp = wattmeter.estimate(WAN, operation="video", width=1280, height=720, **kw)
        assert fp == by_frames, kw
    # frames win over seconds x fps when both are given
    assert wattmeter.estimate(WAN, operation="video", frames=81, seconds=10, fps=30) == \
        wattmeter.estimate(WAN, operation="video", frames=81)
    # a longer clip costs more, superlinearly (attention over more latent frames)
    ten = wattmeter.estimate(WAN, operation="video", seconds=10, fps=16)
    assert ten.accelerator_wh > 2 * by_frames.accelerator_wh


def test_fps_alone_keeps_the_default_duration() -> None:
    at_8 = wattmeter.estimate(WAN, operation="video", fps=8)
    assert at_8 == wattmeter.estimate(WAN, operation="video", frames=41)  # 5 s at 8 fps
    # images ignore fps
    assert wattmeter.estimate("black-forest-labs/FLUX.1-dev", operation="image", fps=8) == \
        wattmeter.estimate("black-forest-labs/FLUX.1-dev", operation="image")


def test_metered_seconds_and_fps() -> None:
    u = Usage("hf-inference", WAN, "video", video_seconds=5.0, fps=16.0, width=1280,
              height=720)
    fp = footprint_for(u, team="t", labels={})
    assert fp.energy_wh == pytest.approx(wattmeter.estimate(
        WAN, "hf-inference", "video", width=1280, height=720, frames=81).energy_wh)
