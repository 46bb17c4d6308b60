"""Property tests: monotonic in what costs energy, intervals and boundaries always ordered."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from test_estimate_api import check_consistent

from wattmeter import Deployment, ModelSpec, estimate

TOKENS = st.integers(min_value=0, max_value=200_000)
SIZES = st.floats(min_value=0.1, max_value=2000)
FAST = settings(max_examples=60, deadline=None)
DEP = Deployment(gpu="H100", batch_size=32)


@FAST
@given(TOKENS, TOKENS, st.integers(min_value=1, max_value=50_000))
def test_monotonic_in_tokens(n_in: int, n_out: int, extra: int) -> None:
    base = estimate("gpt-4o", "openai", input_tokens=n_in, output_tokens=n_out)
    check_consistent(base)
    more_in = estimate("gpt-4o", "openai", input_tokens=n_in + extra, output_tokens=n_out)
    more_out = estimate("gpt-4o", "openai", input_tokens=n_in, output_tokens=n_out + extra)
    assert more_in.energy_wh > base.energy_wh
    assert more_out.energy_wh > base.energy_wh
    assert more_in.energy_wh_high >= base.energy_wh_high
    assert more_out.co2e_g_low >= base.co2e_g_low


@FAST
@given(SIZES, st.floats(min_value=1.01, max_value=10), TOKENS, TOKENS)
def test_monotonic_in_parameters(size: float, factor: float, n_in: int, n_out: int) -> None:
    small = estimate(ModelSpec(size), input_tokens=n_in, output_tokens=n_out, deployment=DEP)
    big = estimate(ModelSpec(size * factor), input_tokens=n_in, output_tokens=n_out,
                   deployment=DEP)
    check_consistent(small)
    assert big.accelerator_wh >= small.accelerator_wh


@FAST
@given(st.integers(64, 2048), st.integers(64, 2048), st.integers(1, 512), st.integers(1, 100))
def test_monotonic_in_resolution_and_steps(w: int, h: int, dw: int, steps: int) -> None:
    m = "black-forest-labs/FLUX.1-dev"
    base = estimate(m, operation="image", width=w, height=h, steps=steps)
    check_consistent(base)
    assert estimate(m, operation="image", width=w + dw, height=h, steps=steps).energy_wh \
        > base.energy_wh
    assert estimate(m, operation="image", width=w, height=h, steps=steps + 1).energy_wh \
        > base.energy_wh
    assert estimate(m, operation="image", width=w, height=h, steps=steps,
                    images=2).energy_wh > base.energy_wh


@FAST
@given(st.integers(1, 241), st.integers(1, 120), st.integers(1, 60))
def test_monotonic_in_frames(frames: int, extra: int, steps: int) -> None:
    m = "Wan-AI/Wan2.1-T2V-14B-Diffusers"
    base = estimate(m, operation="video", width=832, height=480, frames=frames, steps=steps)
    check_consistent(base)
    more = estimate(m, operation="video", width=832, height=480, frames=frames + extra,
                    steps=steps)
    assert more.energy_wh > base.energy_wh


def test_video_scaling_follows_published_shape() -> None:
    """Delavande et al. 2025: quadratic in spatial and temporal size, linear in steps."""
    m = "Wan-AI/Wan2.1-T2V-14B-Diffusers"

    def acc(**kw: int) -> float:
        return estimate(m, operation="video", **kw).accelerator_wh

    a = acc(width=1280, height=720, frames=81, steps=50)
    assert 1.9 < acc(width=1280, height=720, frames=81, steps=100) / a < 2.1
    # doubling frames more than doubles energy (attention), short of 4x
    r = acc(width=1280, height=720, frames=161, steps=50) / a
    assert 2.3 < r < 4.0
    r = acc(width=1810, height=1018, frames=81, steps=50) / a  # twice the pixels
    assert 2.3 < r < 4.0


@FAST
@given(st.sampled_from(["chat", "embeddings", "image", "video", "speech", "transcription"]),
       st.sampled_from(["openai", "anthropic", "google", "mistral", None]))
def test_every_field_ordered(op: str, provider: str | None) -> None:
    model = {"chat": "claude-sonnet-4", "embeddings": "text-embedding-3-large",
             "image": "gpt-image-1", "video": "veo-3", "speech": "tts-1",
             "transcription": "whisper-1"}[op]
    check_consistent(estimate(model, provider, op, input_tokens=100, output_tokens=100))
