"""Diffusion FLOPs follow the weights a latent token passes through, and text tokens join
the sequence only where the architecture attends jointly (issue 9, image accuracy)."""

from __future__ import annotations

import json

import pytest

import wattmeter
from wattmeter.estimate import _diffusion
from wattmeter.estimate._physics import constants
from wattmeter.estimate._registry import lookup


def _families() -> dict[str, dict[str, object]]:
    path = _diffusion._DATA
    return dict(json.loads(path.read_text(encoding="utf-8"))["families"])


def test_every_family_states_its_token_share_and_text_mode() -> None:
    for key, fam in _families().items():
        assert 0.0 < float(fam["token_fraction"]) <= 1.0, key  # type: ignore[arg-type]
        assert isinstance(fam["joint_text"], bool), key


def test_published_token_weights_override_the_family_share() -> None:
    sd35 = lookup("stabilityai/stable-diffusion-3.5-large")
    assert sd35 is not None and sd35.shape["token_params_b"] == pytest.approx(2.70)
    fam = _diffusion.family("sd3", "image")
    assert _diffusion.token_params_b(fam, 8.1, sd35.shape) == pytest.approx(2.70)
    assert _diffusion.token_params_b(fam, 8.1) == pytest.approx(fam.token_fraction * 8.1)
    # a published figure above the size is a typo: never more than the whole denoiser
    assert _diffusion.token_params_b(fam, 1.0, {"token_params_b": 5.0}) == 1.0


def test_mmdit_image_token_costs_less_than_its_size_suggests() -> None:
    k = constants("diffusion")
    flux = _diffusion.family("flux", "image")
    sd3 = _diffusion.family("sd3", "image")
    pixart = _diffusion.family("pixart", "image")
    per_b = {f.key: _diffusion.flop_coeffs(f, 1.0, k)[0] for f in (flux, sd3, pixart)}
    # per billion parameters and pass: dual-stream MMDiT < FLUX (dual + single) < cross-attn
    assert per_b["sd3"] / sd3.cfg < per_b["flux"] / flux.cfg < per_b["pixart"] / pixart.cfg


def test_text_tokens_cost_linear_work_only_when_joint() -> None:
    k = constants("diffusion")
    for key, joint in (("flux", True), ("pixart", False)):
        fam = _diffusion.family(key, "image")
        assert fam.joint_text is joint
        lin, att, *_ = _diffusion.unit_coeffs(fam, fam.ref_params_b, k)
        more = fam._replace(text_tokens=fam.text_tokens * 4)
        lin4, att4, *_ = _diffusion.unit_coeffs(more, fam.ref_params_b, k)
        size = (1024.0, 1024.0, 1.0, 1.0, 1.0)
        tok_only = {"j_fixed": 0.0, "j_pixel": 0.0}
        grows = (_diffusion.diffusion_j(lin4._replace(**tok_only), *size)
                 > _diffusion.diffusion_j(lin._replace(**tok_only), *size))
        assert grows is joint
        # cross-attention still attends each latent token to the text
        assert _diffusion.diffusion_j(att4, *size) > _diffusion.diffusion_j(att, *size)


def test_unseen_family_gets_the_generic_share_and_a_wider_interval() -> None:
    req = {"operation": "image", "width": 1024, "height": 1024, "steps": 28}
    dep = wattmeter.Deployment(gpu="H100", gpus=1, batch_size=1)
    known = wattmeter.estimate(wattmeter.ModelSpec(8.0, family="sd3", modality="image"),
                               deployment=dep, **req)
    unseen = wattmeter.estimate(wattmeter.ModelSpec(8.0, modality="image"), deployment=dep,
                                **req)
    assert _diffusion.family(None, "image").token_fraction > _diffusion.family(
        "sd3", "image").token_fraction
    assert (unseen.accelerator_wh_high / unseen.accelerator_wh_low
            > known.accelerator_wh_high / known.accelerator_wh_low)
