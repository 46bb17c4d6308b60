"""Image and video diffusion energy: FLOPs from latent tokens, steps and guidance, then power.

Pixels become latent tokens (width x height / (VAE factor x patch)^2, times latent frames
for video); each denoising step costs 2 x the weights a token passes through (per-image
modulation and the other stream of dual-stream blocks excluded) plus attention that grows
with tokens squared (or, for a family whose attention is windowed, with the tokens times the
window each attends to), doubled under classifier-free guidance; text tokens join the
sequence in joint-attention families and are cross-attended otherwise; text encoding and VAE
decoding are added once. The fraction of peak FLOP/s reached grows with the transformer's width
(wider matrix multiplies fill the tensor cores). A model's own geometry (registry
`shape`: VAE factor, patch, temporal compression, width, guidance) overrides its
family's. Multi-GPU runs pay communication and per-step overheads (docs/methodology.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ._hardware import GPU, Precision

__all__ = ["ABSENT_MEANS", "DiffusionCoeffs", "Family", "diffusion_coeffs", "diffusion_j", "family",
           "flop_coeffs", "geometry", "mfu", "sync_counts", "token_params_b", "unit_coeffs",
           "width_of"]

_EMPTY: Mapping[str, Any] = {}
#: Registry ``shape`` keys whose absence states a fact rather than leaving one unknown; the
#: registry audit (tests/estimate/test_shapes.py) requires every other key this physics reads.
ABSENT_MEANS: Mapping[str, str] = {
    "attention_layers": "one attention layer per block",
    "attention_layers_x_width": "a transformer: attention layers x width at one resolution",
    "conv_share": "no convolutions (a transformer), or the family's (families.json)",
    "heads": "width / the family's head size",
    **{key: "the family's published value (families.json)" for key in (
        "vae", "patch", "temporal", "cfg", "text_encoder_b", "text_tokens")}}

_DATA = Path(__file__).with_name("data") / "families.json"
_families: dict[str, Any] = {}


class Family(NamedTuple):
    """Geometry of one diffusion family (families.json)."""

    key: str
    kind: str
    ref_params_b: float
    layers_x_width: float
    vae: float
    patch: float
    temporal: float
    cfg: float
    text_tokens: float
    text_encoder_b: float
    linear_attention: bool
    default_steps: int
    ref_layers: int       # transformer blocks of the reference model
    source: str
    year: int
    steps_low: int = 0    # assumed range of unpublished steps (closed models); 0: none
    steps_high: int = 0
    token_fraction: float = 1.0  # share of the denoiser's weights applied to each token
    joint_text: bool = True      # text tokens join the sequence (MMDiT) or are cross-attended
    head_dim: float = 128.0      # width per attention head: heads = width / head_dim
    # a U-Net (scripts/unet_geometry.py): self-attention width x depth, its levels weighted
    # by their share of the positions squared (0: layers_x_width), and the share of its MACs
    # in convolutions (0: a transformer)
    attention_lxw: float = 0.0
    conv_share: float = 0.0
    # undisclosed families whose attention may be local (windowed, sliding-tile or split
    # into spatial and temporal layers): the fewest tokens a token attends to (0: full)
    attention_window_low: float = 0.0


class DiffusionCoeffs(NamedTuple):
    """Per-(model, deployment) numbers: an item's energy is a few multiplications of these."""

    vae: float            # pixels per latent-token side (VAE factor x patch)
    temporal: float
    text_tokens: float    # text tokens joining the sequence (joint attention; 0 if cross)
    j_tok_step: float     # J per latent token per denoising step (linear part, guidance included)
    j_pair_step: float    # J per latent token pair per step (self-attention)
    j_fixed: float        # J per item: text encoder
    j_pixel: float        # J per output pixel (VAE decode)
    j_step: float         # J per step per item: per-step overhead at overhead power
    gpus: int
    batch: float
    cross_tokens: float = 0.0  # text tokens reached by cross-attention (0 if joint)
    j_cross_step: float = 0.0  # J per (latent token, cross-attended text token) per step
    window_lo: float = 0.0     # fewest tokens a token may attend to (0: full attention)
    window_u: float = 0.5      # where the window lies, log-scale, between that and full


def _load() -> dict[str, Any]:
    if not _families:
        raw = json.loads(_DATA.read_text(encoding="utf-8"))
        for key, f in raw["families"].items():
            _families[key] = Family(key, f["kind"], float(f["ref_params_b"]),
                                    float(f["layers_x_width"]), float(f["vae"]),
                                    float(f["patch"]), float(f["temporal"]), float(f["cfg"]),
                                    float(f["text_tokens"]), float(f["text_encoder_b"]),
                                    bool(f["linear_attention"]), int(f["default_steps"]),
                                    int(f["ref_layers"]), f["source"], int(f["year"]),
                                    int(f.get("steps_low", 0)), int(f.get("steps_high", 0)),
                                    float(f["token_fraction"]), bool(f["joint_text"]),
                                    float(f["head_dim"]),
                                    float(f.get("attention_layers_x_width", 0.0)),
                                    float(f.get("conv_share", 0.0)),
                                    float(f.get("attention_window_low", 0.0)))
        for alias, key in raw["aliases"].items():
            _families.setdefault(alias, _families[key])
    return _families


def family(name: str | None, kind: str) -> Family:
    """The family called `name`, or the generic image/video transformer for `kind`."""
    fams = _load()
    if name:
        f = fams.get(name.strip().lower())
        if f is not None:
            return f
    return fams["dit-video" if kind == "video" else "dit-image"]


def geometry(fam: Family, shape: Mapping[str, Any] = _EMPTY) -> Family:
    """The family's geometry with the model's published facts (registry `shape`) on top."""
    if not shape:
        return fam
    over: dict[str, Any] = {key: float(shape[key]) for key in (
        "vae", "patch", "temporal", "cfg", "text_encoder_b", "text_tokens", "conv_share")
        if key in shape}
    return fam._replace(**over) if over else fam


def width_of(fam: Family, params_b: float, shape: Mapping[str, Any] = _EMPTY) -> float:
    """Hidden width of the denoiser: published (`shape`), else from its size as the
    family's reference model (width ~ size^(1/2) at a fixed depth)."""
    if shape.get("width"):
        return float(shape["width"])
    ref_w = fam.layers_x_width / max(1.0, float(fam.ref_layers))
    return ref_w * (params_b / fam.ref_params_b) ** 0.5


def mfu(fam: Family, params_b: float, k: Mapping[str, Any],
        shape: Mapping[str, Any] = _EMPTY) -> float:
    """Fraction of peak FLOP/s the denoiser reaches: mfu_ref x (width / 3072)^mfu_width_exp,
    capped at mfu_max (physics.json); linear-attention models with convolutional FFNs
    use a fixed fraction of that (their depthwise convolutions leave tensor cores idle)."""
    m = k["mfu_ref"] * (width_of(fam, params_b, shape) / 3072.0) ** k["mfu_width_exp"]
    if fam.linear_attention:
        m *= k["linear_attention_mfu"]
    return min(m, k["mfu_max"])


def token_params_b(fam: Family, params_b: float, shape: Mapping[str, Any] = _EMPTY) -> float:
    """Weights (billions) one latent token passes through per denoiser pass: published
    (`shape`), else the family's share of the size. Per-image modulation (adaLN) weights
    act once per image, and a dual-stream block's text weights never see an image token."""
    if shape.get("token_params_b"):
        return min(params_b, float(shape["token_params_b"]))
    return fam.token_fraction * params_b


def sync_counts(fam: Family, params_b: float, gpus: int,
                shape: Mapping[str, Any] = _EMPTY) -> tuple[float, float, float]:
    """Sequence-parallel exchanges per denoising step on `gpus` GPUs: (exchanges x log2 N,
    exchanges x ring hops). xDiT splits the tokens over N = Ulysses x ring degree; the
    Ulysses degree must divide the head count, so models with few or odd heads fall back
    on ring attention (N/u - 1 peer hops per exchange); the split is not known to a
    caller, so the hops are averaged over the admissible (Ulysses, ring) pairs. First
    the blocks, whose kernel launches set the per-step host time."""
    blocks = float(shape.get("layers") or fam.ref_layers)
    if gpus <= 1:
        return blocks, 0.0, 0.0
    syncs = float(shape.get("attention_layers") or blocks)
    heads = int(shape.get("heads") or round(width_of(fam, params_b, shape) / fam.head_dim))
    hops = [gpus // u - 1.0 for u in (2 ** i for i in range(gpus.bit_length()))
            if u <= gpus and gpus % u == 0 and heads % u == 0]
    return blocks, syncs * math.log2(gpus), syncs * sum(hops) / len(hops)


def flop_coeffs(fam: Family, params_b: float, k: Mapping[str, Any],
                shape: Mapping[str, Any] = _EMPTY) -> tuple[float, float, float, float, float]:
    """FLOPs per latent token-step, per token-pair-step (self-attention), per item (text
    encoder), per output pixel (VAE decoder) and per (latent, cross-attended text) token
    pair-step, guidance passes included."""
    depth = float(shape.get("attention_layers") or shape.get("layers", 0.0))
    if shape.get("attention_layers_x_width"):  # a U-Net's levels (scripts/unet_geometry.py)
        ld = float(shape["attention_layers_x_width"])
    elif depth and shape.get("width"):
        ld = depth * float(shape["width"])
    else:
        ld = (fam.attention_lxw or fam.layers_x_width) * (
            params_b / fam.ref_params_b) ** k["attn_exponent"]
    tok = fam.cfg * 2.0 * token_params_b(fam, params_b, shape) * 1e9
    pair = 0.0 if fam.linear_attention else fam.cfg * 4.0 * ld
    cross = 0.0 if fam.joint_text else fam.cfg * 4.0 * ld
    fixed = fam.cfg * 2.0 * fam.text_encoder_b * 1e9 * fam.text_tokens
    return tok, pair, fixed, k["vae_flops_per_pixel"], cross


def unit_coeffs(fam: Family, params_b: float, k: Mapping[str, Any],
                shape: Mapping[str, Any] = _EMPTY) -> tuple[DiffusionCoeffs, DiffusionCoeffs]:
    """FLOPs as coefficients (one GPU, batch 1): the linear part (token-steps, text encoder,
    VAE) and the attention part, for calibration (benchmarks/calibrate.py)."""
    fam = geometry(fam, shape)
    tok, pair, fixed, pixel, cross = flop_coeffs(fam, params_b, k, shape)
    joint, crossed = (fam.text_tokens, 0.0) if fam.joint_text else (0.0, fam.text_tokens)
    lin = DiffusionCoeffs(fam.vae * fam.patch, fam.temporal, joint, tok, 0.0, fixed, pixel,
                          0.0, 1, 1.0, crossed, 0.0)
    return lin, lin._replace(j_tok_step=0.0, j_pair_step=pair, j_fixed=0.0, j_pixel=0.0,
                             j_cross_step=cross)


def diffusion_coeffs(fam: Family, params_b: float, prec: Precision, gpu: GPU, gpus: int,
                     batch: float, k: Mapping[str, Any],
                     shape: Mapping[str, Any] = _EMPTY) -> DiffusionCoeffs:
    """Precompute J per token-step, per token-pair-step, per step and per item."""
    fam = geometry(fam, shape)
    n = float(gpus)
    b = max(1.0, float(batch))
    flops = gpu.flops(prec.compute)
    dyn = gpu.tdp_w - gpu.idle_w
    busy_w = gpu.idle_w + k["busy_util"] * dyn
    # Sequence/CFG parallelism: extra communication proportional to the work, log2(N) hops
    # (all-gathers around the linear layers, all-to-all around attention, xDiT).
    lg = math.log2(n)
    if prec.compute == "naive":  # library defaults (regimes.json "naive"): matrix multiplies
        # and attention in FP32 on the CUDA cores at `naive_mfu` of their peak, a U-Net's
        # convolutions (`conv_share` of its MACs) in TF32 on the tensor cores
        fp32 = gpu.flops("fp32") * k["naive_mfu"]
        tc = gpu.flops("tf32") * mfu(fam, params_b, k, shape)
        s_flop = fam.conv_share / tc + (1.0 - fam.conv_share) / fp32
        j_lin = busy_w * (1.0 + k["comm"] * lg) * s_flop
        j_attn = busy_w * (1.0 + k["comm_attn"] * lg) / fp32
    else:
        j_lin = busy_w * (1.0 + k["comm"] * lg) / (flops * mfu(fam, params_b, k, shape))
        # attention (FlashAttention) runs at its own fraction of peak, whatever the width
        j_attn = busy_w * (1.0 + k["comm_attn"] * lg) / (flops * k["attn_mfu"])
    tok, pair, fixed, pixel, cross = flop_coeffs(fam, params_b, k, shape)
    _, sync, ring = sync_counts(fam, params_b, gpus, shape)
    t_sync = k["sync_s"] * sync + k["ring_s"] * ring
    j_step = n * ((gpu.idle_w + k["overhead_util"] * dyn) * k["step_s"]
                  + (gpu.idle_w + k["sync_util"] * dyn) * t_sync) / b
    joint, crossed = (fam.text_tokens, 0.0) if fam.joint_text else (0.0, fam.text_tokens)
    return DiffusionCoeffs(fam.vae * fam.patch, fam.temporal, joint, tok * j_lin,
                           pair * j_attn, fixed * j_lin, pixel * j_lin, j_step, gpus, b,
                           crossed, cross * j_attn, fam.attention_window_low)


def diffusion_j(c: DiffusionCoeffs, width: float, height: float, frames: float, steps: float,
                items: float) -> float:
    """Accelerator joules for `items` images or videos of the given size and steps. A
    windowed family's tokens attend to a window between its smallest and the whole
    sequence, at `window_u` of the way on a log scale (0.5 nominally; drawn in the range)."""
    spatial = (width / c.vae) * (height / c.vae)
    tokens = spatial * (1.0 if frames <= 1 else (frames - 1.0) / c.temporal + 1.0)
    t = tokens + c.text_tokens
    span = t
    if 0.0 < c.window_lo < t:
        span = c.window_lo ** (1.0 - c.window_u) * t ** c.window_u
    per_step = (t * (c.j_tok_step + c.j_pair_step * span)
                + tokens * c.cross_tokens * c.j_cross_step + c.j_step)
    pixels = width * height * (frames if frames > 1 else 1.0)
    return items * (steps * per_step + c.j_fixed + c.j_pixel * pixels)
