"""U-Net geometry: the registry's and families' numbers are what scripts/unet_geometry.py
counts from the published configs, and the naive regime prices the two U-Nets' ratio."""

from __future__ import annotations

import pytest
from scripts_helpers import load_script

import wattmeter
from wattmeter.estimate import _diffusion, _model_entries
from wattmeter.estimate._registry import all_models

GEOMETRY = load_script("scripts/unet_geometry.py")
COUNTS = {u.name.split()[0]: GEOMETRY.count(u) for u in GEOMETRY.UNETS}
FAMILY_OF = {"sd15": "sd", "sd21": "sd", "sd": "sd", "sdxl": "sdxl"}


def test_sd_count_matches_a_published_mac_count() -> None:
    """Kim et al. 2023 (BK-SDM) count 338.7 GMACs in SD 1.x's U-Net at 512x512."""
    assert COUNTS["sd"]["token_params_b"] * 64 * 64 == pytest.approx(338.7, rel=0.01)


@pytest.mark.parametrize("key", ["sd", "sdxl"])
def test_families_carry_the_counts(key: str) -> None:
    fam = _diffusion.family(key, "image")
    c = COUNTS[key]
    assert fam.patch == 1.0
    assert fam.token_fraction * fam.ref_params_b == pytest.approx(c["token_params_b"], rel=0.01)
    assert fam.attention_lxw == pytest.approx(c["attention_layers_x_width"], rel=0.01)
    assert fam.conv_share == pytest.approx(c["conv_share"], abs=0.005)


def test_registered_unets_carry_the_counts() -> None:
    unets = [m for m in all_models() if m.architecture == "unet" and m.shape]
    assert len(unets) >= 4
    for m in unets:
        c = COUNTS[FAMILY_OF[m.family or ""]]
        assert m.shape["token_params_b"] == pytest.approx(c["token_params_b"], rel=0.01), m.id
        assert m.shape["attention_layers_x_width"] == pytest.approx(
            c["attention_layers_x_width"], rel=0.01), m.id
        assert m.shape["conv_share"] == pytest.approx(c["conv_share"], abs=0.005), m.id


def test_naive_sdxl_costs_what_the_counts_say_against_sd15() -> None:
    """SDXL at 1024x1024 is x8.4 SD 1.5's MACs at 512x512 (Luccioni et al. 2024 measured
    x8.5 per image); FP32 runs most of SDXL (fewer convolutions in TF32), so a bit more."""
    dep = wattmeter.Deployment(gpu="A100", regime="naive")
    sd15 = wattmeter.estimate("stable-diffusion-v1-5", operation="image", deployment=dep)
    sdxl = wattmeter.estimate("stabilityai/stable-diffusion-xl-base-1.0", operation="image",
                              deployment=dep)
    assert 8.0 < sdxl.server_wh / sd15.server_wh < 12.0


def test_shape_conv_share_is_a_share() -> None:
    with pytest.raises(ValueError, match=r"conv_share.*at most 1"):
        _model_entries._shape({"conv_share": 1.5, "source": "config"})
