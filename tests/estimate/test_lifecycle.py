"""Life-cycle fields of every footprint: embodied and total CO2e, water, abiotic depletion."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wattmeter
from wattmeter import Usage
from wattmeter.estimate import _lifecycle, footprint_for
from wattmeter.estimate._hardware import gpu

DATA = Path(_lifecycle.__file__).with_name("data") / "lifecycle.json"
IMPACTS = ("co2e_embodied_g", "co2e_total_g", "water_ml", "adpe_kgsbeq")

CALLS = [
    lambda: wattmeter.estimate("gpt-4o", "openai", input_tokens=1200, output_tokens=400),
    lambda: wattmeter.estimate("mistral-large-2407", "mistral", input_tokens=100,
                               output_tokens=400),
    lambda: wattmeter.estimate("gemini-2.5-flash", "google", input_tokens=500,
                               output_tokens=300, cached_input_tokens=200),
    lambda: wattmeter.estimate("text-embedding-3-small", "openai", operation="embeddings",
                               input_tokens=800),
    lambda: wattmeter.estimate("black-forest-labs/FLUX.1-dev", operation="image",
                               width=1024, height=1024, steps=28),
    lambda: wattmeter.estimate("black-forest-labs/FLUX.1-dev", operation="image"),
    lambda: wattmeter.estimate("Wan-AI/Wan2.1-T2V-14B-Diffusers", operation="video",
                               seconds=5.0, fps=16),
    lambda: wattmeter.estimate("gpt-image-1", operation="image", width=1024, height=1024),
    lambda: wattmeter.estimate("tts-1", operation="speech", characters=300),
    lambda: wattmeter.estimate("whisper-1", operation="transcription", audio_seconds=60),
    lambda: wattmeter.estimate(wattmeter.ModelSpec(total_params_b=70), "self-hosted",
                               input_tokens=500, output_tokens=500,
                               deployment=wattmeter.Deployment(gpu="A100", gpus=4)),
]


@pytest.mark.parametrize("call", CALLS)
def test_fields_are_finite_positive_and_ordered(call) -> None:  # type: ignore[no-untyped-def]
    fp = call()
    for name in IMPACTS:
        lo, mid, hi = (getattr(fp, name + s) for s in ("_low", "", "_high"))
        assert all(math.isfinite(v) for v in (lo, mid, hi)), (name, lo, mid, hi)
        assert 0.0 < lo <= mid <= hi, (name, lo, mid, hi)


@pytest.mark.parametrize("call", CALLS)
def test_total_is_usage_plus_embodied(call) -> None:  # type: ignore[no-untyped-def]
    fp = call()
    assert fp.co2e_total_g == pytest.approx(fp.co2e_g + fp.co2e_embodied_g)
    assert fp.co2e_total_g_low == pytest.approx(fp.co2e_g_low + fp.co2e_embodied_g_low)
    assert fp.co2e_total_g_high == pytest.approx(fp.co2e_g_high + fp.co2e_embodied_g_high)


def test_impacts_scale_with_energy() -> None:
    """Twice the output tokens at a fixed context-free cost: each impact follows energy."""
    a = wattmeter.estimate("gpt-4o", "openai", output_tokens=1000)
    b = wattmeter.estimate("gpt-4o", "openai", output_tokens=2000)
    ratio = b.accelerator_wh / a.accelerator_wh
    assert ratio > 1.5
    for name in ("co2e_embodied_g", "water_ml", "adpe_kgsbeq"):
        assert getattr(b, name) / getattr(a, name) == pytest.approx(ratio, rel=1e-9)


def test_zone_moves_water_and_adpe_not_embodied() -> None:
    us = wattmeter.estimate("gpt-4o", "openai", output_tokens=500, zone="US")
    fr = wattmeter.estimate("gpt-4o", "openai", output_tokens=500, zone="FR")
    assert fr.co2e_embodied_g == pytest.approx(us.co2e_embodied_g)
    assert fr.water_ml < us.water_ml  # French grid: less water per kWh than the U.S. average
    assert fr.adpe_kgsbeq < us.adpe_kgsbeq
    assert fr.co2e_total_g < us.co2e_total_g


def _manufacturing_ml_per_wh(card: str) -> float:
    """Manufacturing water (mL) per accelerator Wh of `card`, from lifecycle.json."""
    d = json.loads(DATA.read_text(encoding="utf-8"))
    sv, mw, accs = d["server"], d["manufacturing_water"], d["accelerators"]
    g = gpu(card)
    watts = g.idle_w + sv["busy_power_fraction"]["value"] * (g.tdp_w - g.idle_w)
    life_j = (sv["lifetime_years"]["value"] * 365.25 * 86400.0
              * sv["active_fraction"]["value"] * watts)
    litres = (mw["host_l"]["value"] / sv["gpus_per_server"]["value"]
              + mw["accelerator_l"]["value"] * accs[card]["kgco2e"] / accs["A100"]["kgco2e"])
    return litres * 1000.0 / life_j * 3600.0


def test_water_is_onsite_plus_electricity_plus_manufacturing() -> None:
    """water = server kWh x (on-site WUE + PUE x grid water) (Li et al. 2023) + the water
    of manufacturing the accelerator-seconds used, in mL."""
    dep = wattmeter.Deployment(gpu="H100", gpus=1, batch_size=8)
    fp = wattmeter.estimate(wattmeter.ModelSpec(total_params_b=8), "self-hosted",
                            output_tokens=500, zone="FR", pue=1.2, deployment=dep)
    wue = _lifecycle.onsite_wue("default")["value"]
    grid = _lifecycle.electricity("FR")["water_l_per_kwh"]
    mfg = fp.accelerator_wh * _manufacturing_ml_per_wh("H100")
    assert fp.water_ml == pytest.approx(fp.server_wh * (wue + 1.2 * grid) + mfg)
    assert 0.001 < mfg / fp.water_ml < 0.05  # a few percent: the grid's water dominates


def test_manufacturing_water_follows_the_card() -> None:
    """A B200 (two dies, more HBM) carries more manufacturing water per second than an L4,
    and both more than nothing."""
    assert _manufacturing_ml_per_wh("L4") > 0.0
    b200_per_s = _manufacturing_ml_per_wh("B200") * gpu("B200").tdp_w
    l4_per_s = _manufacturing_ml_per_wh("L4") * gpu("L4").tdp_w
    assert b200_per_s > l4_per_s


def test_bigger_accelerator_share_more_embodied_per_joule() -> None:
    """A B200's manufacturing is charged per second at its own power: per joule of an L4 is
    more than per joule of an H100 (small card, low power)."""
    kw = {"output_tokens": 300, "zone": "US"}
    spec = wattmeter.ModelSpec(total_params_b=8)
    l4 = wattmeter.estimate(spec, "self-hosted", deployment=wattmeter.Deployment(gpu="L4"), **kw)
    h100 = wattmeter.estimate(spec, "self-hosted",
                              deployment=wattmeter.Deployment(gpu="H100"), **kw)
    assert l4.co2e_embodied_g / l4.accelerator_wh > h100.co2e_embodied_g / h100.accelerator_wh


def test_footprint_for_agrees_with_estimate_on_lifecycle() -> None:
    u = Usage("openai", "gpt-4o", "chat", input_tokens=1200, output_tokens=400,
              cached_input_tokens=300, reasoning_tokens=50)
    fp = footprint_for(u, team="t", labels={})
    est = wattmeter.estimate("gpt-4o", "openai", input_tokens=1200, output_tokens=400,
                             cached_input_tokens=300, reasoning_tokens=50)
    for name in IMPACTS:
        for s in ("_low", "", "_high"):
            assert getattr(fp, name + s) == pytest.approx(getattr(est, name + s)), name + s
    img = footprint_for(Usage("openai", "gpt-image-1", "image", images=1, width=1024,
                              height=1024, output_tokens=1056), team="t", labels={})
    est_img = wattmeter.estimate("gpt-image-1", operation="image", images=1, width=1024,
                                 height=1024, output_tokens=1056)
    for name in IMPACTS:
        for s in ("_low", "", "_high"):
            assert getattr(img, name + s) == pytest.approx(getattr(est_img, name + s))


def test_given_steps_narrow_the_range() -> None:
    """A closed diffusion model's assumed steps widen energy and every life-cycle impact."""
    assumed = wattmeter.estimate("dall-e-3", operation="image")
    given = wattmeter.estimate("dall-e-3", operation="image", steps=50)
    assert (assumed.co2e_embodied_g_high / assumed.co2e_embodied_g
            >= given.co2e_embodied_g_high / given.co2e_embodied_g)


def test_every_constant_has_a_source_and_year() -> None:
    raw = json.loads(DATA.read_text(encoding="utf-8"))

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            numbers = [k for k, v in node.items() if isinstance(v, (int, float))]
            if numbers and not path.endswith(("region_prefixes",)):
                assert node.get("source"), path
                assert isinstance(node.get("year"), int), path
            for k, v in node.items():
                walk(v, f"{path}.{k}")

    walk(raw, "lifecycle")
    for entry in raw["server"].values():
        assert entry["low"] <= entry["value"] <= entry["high"]


def test_cloud_regions_map_to_their_grid() -> None:
    assert _lifecycle.electricity("aws:eu-west-3") == _lifecycle.electricity("FR")
    assert _lifecycle.electricity("gcp:us-central1") == _lifecycle.electricity("US")
    assert _lifecycle.electricity("DE") == _lifecycle.electricity("EU")
    assert _lifecycle.electricity("custom") == _lifecycle.electricity("WORLD")


@settings(max_examples=60, deadline=None)
@given(it=st.integers(0, 200_000), ot=st.integers(0, 20_000), cached=st.floats(0, 1),
       zone=st.sampled_from([None, "US", "FR", "aws:eu-west-3", "gcp:asia-east1", "CN"]))
def test_bounds_hold_for_any_request(it: int, ot: int, cached: float, zone: str | None) -> None:
    fp = wattmeter.estimate("gpt-4o", "openai", input_tokens=it, output_tokens=ot,
                            cached_input_tokens=int(it * cached), zone=zone)
    for name in IMPACTS:
        lo, mid, hi = (getattr(fp, name + s) for s in ("_low", "", "_high"))
        assert math.isfinite(hi) and 0.0 <= lo <= mid <= hi, (name, lo, mid, hi)
