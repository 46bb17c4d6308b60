"""Multi-GPU diffusion pays xDiT's sequence-parallel exchanges per attention layer, and
ring hops where the Ulysses degree cannot divide the head count (issue 9, image accuracy)."""

from __future__ import annotations

import json

import pytest

import wattmeter
from wattmeter.estimate import _diffusion
from wattmeter.estimate._registry import lookup


def _counts(model: str, gpus: int) -> tuple[float, float, float]:
    info = lookup(model)
    assert info is not None
    fam = _diffusion.geometry(_diffusion.family(info.family, "image"), info.shape)
    return _diffusion.sync_counts(fam, info.active_params_b, gpus, info.shape)


def test_every_family_states_its_head_width() -> None:
    raw = json.loads(_diffusion._DATA.read_text(encoding="utf-8"))["families"]
    for key, fam in raw.items():
        assert 32 <= float(fam["head_dim"]) <= 256, key


def test_one_gpu_exchanges_nothing() -> None:
    blocks, sync, ring = _counts("black-forest-labs/FLUX.1-dev", 1)
    assert (blocks, sync, ring) == (57.0, 0.0, 0.0)


def test_exchanges_grow_with_log2_gpus_per_attention_layer() -> None:
    # FLUX: 57 attention blocks, 24 heads: Ulysses 1, 2, 4, 8 all admissible on 8 GPUs
    _, sync, ring = _counts("black-forest-labs/FLUX.1-dev", 8)
    assert sync == pytest.approx(57 * 3)
    assert ring == pytest.approx(57 * (7 + 3 + 1 + 0) / 4)
    # SD3.5 Medium attends 37 times per step (13 blocks with a second self-attention)
    assert _counts("stabilityai/stable-diffusion-3.5-medium", 2)[1] == pytest.approx(37)


def test_heads_the_ulysses_degree_cannot_divide_fall_back_on_rings() -> None:
    # SD3.5 Large: 2432 / 64 = 38 heads, so only Ulysses 1 or 2: more ring hops per layer
    _, _, ring_l = _counts("stabilityai/stable-diffusion-3.5-large", 8)
    _, _, ring_f = _counts("black-forest-labs/FLUX.1-dev", 8)
    assert ring_l / 38 == pytest.approx((7 + 3) / 2)
    assert ring_l / 38 > ring_f / 57


def test_low_token_images_hit_a_floor_that_more_gpus_do_not_lower() -> None:
    def wh(gpus: int) -> float:
        dep = wattmeter.Deployment(gpu="H100", gpus=gpus, batch_size=1)
        return wattmeter.estimate("PixArt-alpha/PixArt-Sigma-XL-2-1024-MS", operation="image",
                                  width=1024, height=1024, steps=20,
                                  deployment=dep).accelerator_wh
    # measured (ML.ENERGY v3, H100, batch 1): x1.16 / 1.63 / 2.59 the energy of one GPU
    assert wh(1) < wh(2) < wh(4) < wh(8)
    assert wh(8) / wh(1) > 1.8
