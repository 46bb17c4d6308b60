"""Image and video diffusion energy: FLOPs from latent tokens, steps and guidance, then power.

Pixels become latent tokens (width x height / (VAE factor x patch)^2, times latent frames
for video); each denoising step costs 2 x params per token plus attention that grows with
tokens squared, doubled under classifier-free guidance; text encoding and VAE decoding
are added once. Multi-GPU runs pay communication and per-step overheads
(docs/methodology.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from ._hardware import GPU, Precision

__all__ = ["DiffusionCoeffs", "Family", "diffusion_coeffs", "diffusion_j", "family"]

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
    mfu: float
    source: str
    year: int
    steps_low: int = 0    # assumed range of unpublished steps (closed models); 0: none
    steps_high: int = 0


class DiffusionCoeffs(NamedTuple):
    """Per-(model, deployment) numbers: an item's energy is a few multiplications of these."""

    vae: float            # pixels per latent-token side (VAE factor x patch)
    temporal: float
    text_tokens: float
    j_tok_step: float     # J per latent token per denoising step (linear part, guidance included)
    j_pair_step: float    # J per latent token pair per step (attention)
    j_fixed: float        # J per item: text encoder
    j_pixel: float        # J per output pixel (VAE decode)
    j_step: float         # J per step per item: per-step overhead at overhead power
    gpus: int
    batch: float


def _load() -> dict[str, Any]:
    if not _families:
        raw = json.loads(_DATA.read_text(encoding="utf-8"))
        for key, f in raw["families"].items():
            _families[key] = Family(key, f["kind"], float(f["ref_params_b"]),
                                    float(f["layers_x_width"]), float(f["vae"]),
                                    float(f["patch"]), float(f["temporal"]), float(f["cfg"]),
                                    float(f["text_tokens"]), float(f["text_encoder_b"]),
                                    bool(f["linear_attention"]), int(f["default_steps"]),
                                    float(f["mfu"]), f["source"], int(f["year"]),
                                    int(f.get("steps_low", 0)), int(f.get("steps_high", 0)))
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


def diffusion_coeffs(fam: Family, params_b: float, prec: Precision, gpu: GPU, gpus: int,
                     batch: float, k: Mapping[str, float]) -> DiffusionCoeffs:
    """Precompute J per token-step, per token-pair-step, per step and per item."""
    n = float(gpus)
    b = max(1.0, float(batch))
    flops = gpu.flops(prec.compute)
    dyn = gpu.tdp_w - gpu.idle_w
    # Sequence/CFG parallelism: extra communication proportional to the work, log2(N) hops.
    comm = 1.0 + k["comm"] * math.log2(n)
    j_per_flop = (gpu.idle_w + k["busy_util"] * dyn) * comm / (flops * fam.mfu)
    ld = fam.layers_x_width * (params_b / fam.ref_params_b) ** k["attn_exponent"]
    j_tok = fam.cfg * 2.0 * params_b * 1e9 * j_per_flop
    j_pair = 0.0 if fam.linear_attention else fam.cfg * 4.0 * ld * j_per_flop
    j_fixed = fam.cfg * 2.0 * fam.text_encoder_b * 1e9 * fam.text_tokens * j_per_flop
    j_pixel = k["vae_flops_per_pixel"] * j_per_flop
    t_step = k["step_s"] + k["step_gpu_s"] * (n - 1.0)
    j_step = n * (gpu.idle_w + k["overhead_util"] * dyn) * t_step / b
    return DiffusionCoeffs(fam.vae * fam.patch, fam.temporal, fam.text_tokens, j_tok, j_pair,
                           j_fixed, j_pixel, j_step, gpus, b)


def diffusion_j(c: DiffusionCoeffs, width: float, height: float, frames: float, steps: float,
                items: float) -> float:
    """Accelerator joules for `items` images or videos of the given size and steps."""
    spatial = (width / c.vae) * (height / c.vae)
    tokens = spatial * (1.0 if frames <= 1 else (frames - 1.0) / c.temporal + 1.0)
    t = tokens + c.text_tokens
    per_step = t * (c.j_tok_step + c.j_pair_step * t) + c.j_step
    pixels = width * height * (frames if frames > 1 else 1.0)
    return items * (steps * per_step + c.j_fixed + c.j_pixel * pixels)
