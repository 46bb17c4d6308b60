"""Text generation and embeddings energy: a prefill/decode roofline model with a power model.

Prefill is compute-bound (2 x active parameters FLOPs per new input token plus causal
attention over the context); decode is one forward step per output token shared by the
batch, bounded by memory traffic (weights once per step, each sequence's KV cache) or by
compute, whichever is slower; step time becomes energy through idle + utilisation x
(TDP - idle) per accelerator. All constants come from physics.json (docs/methodology.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

from ._hardware import GPU, Precision

__all__ = [
    "TextCoeffs",
    "attn_flops_per_ctx",
    "decode_j",
    "embed_coeffs",
    "gpus_needed",
    "kv_bytes_per_token",
    "prefill_j",
    "text_coeffs",
]


class TextCoeffs(NamedTuple):
    """Per-(model, deployment) numbers that make a request's energy a few multiplications.

    Times are seconds per decode step, energies joules; ``idle_w``/``dyn_w`` are already
    multiplied by the GPU count and divided by the batch (one sequence's share).
    """

    pre_j_tok: float      # J per uncached input token (linear, 2 x active FLOPs)
    pre_j_pair: float     # J per (new token x context token) attention pair
    pre_j_cached: float   # J per cached input token
    mem0: float           # s/step: weight reads
    mem1: float           # s/step per context token: KV reads of the batch
    cmp0: float           # s/step: 2 x active FLOPs x batch
    cmp1: float           # s/step per context token: attention FLOPs x batch
    t0: float             # s/step: overhead (launches, all-reduce, per-sequence scheduling)
    idle_w: float         # W share of idle power
    dyn_w: float          # W share of (TDP - idle)
    w_mem: float          # utilisation per unit of memory-bound time
    w_cmp: float          # utilisation per unit of compute-bound time
    gpus: int
    batch: float


def kv_bytes_per_token(total_b: float, active_b: float, k: Mapping[str, float]) -> float:
    """KV-cache bytes per token (bf16 K and V, all layers), from model size.

    Fitted to published architectures (Llama 3.1 8B/70B/405B, Qwen3 8B/32B/30B-A3B):
    layers x KV heads x head dim x 2 x 2 bytes grows about as size^0.4; MoE models use
    the geometric mean of total and active size (their attention is sized like that).
    """
    size = math.sqrt(total_b * active_b)
    return k["kv_bytes_8b"] * (size / 8.0) ** k["kv_exponent"]


def attn_flops_per_ctx(total_b: float, active_b: float, k: Mapping[str, float]) -> float:
    """Attention FLOPs per (query token, context token) pair: 4 x layers x model width."""
    size = math.sqrt(total_b * active_b)
    return k["attn_flops_8b"] * (size / 8.0) ** k["attn_exponent"]


def gpus_needed(total_b: float, prec: Precision, gpu: GPU, k: Mapping[str, float]) -> int:
    """Smallest power-of-two GPU count whose memory holds the weights plus the headroom
    ``k["memory_headroom"]`` (KV cache and activations; physics.json, text and diffusion)."""
    need_gb = total_b * prec.bytes * k["memory_headroom"]
    n = max(1, math.ceil(need_gb / gpu.memory_gb))
    return 1 << (n - 1).bit_length()


def text_coeffs(total_b: float, active_b: float, prec: Precision, gpu: GPU, gpus: int,
                batch: float, k: Mapping[str, float]) -> TextCoeffs:
    """Precompute the decode roofline and prefill costs of one model on one deployment."""
    n = float(gpus)
    b = max(1.0, float(batch))
    flops = gpu.flops(prec.compute)
    bw = gpu.bandwidth_gbs * 1e9 * k["bw_eff"]
    # MoE: distinct expert weights read per step grow with the batch (each token touches
    # a fraction active/total of the expert weights, independently).
    frac = min(1.0, active_b / total_b)
    read_b = total_b * (1.0 - (1.0 - frac) ** b) if frac < 1.0 else total_b
    w_bytes = max(read_b, active_b) * 1e9 * prec.bytes
    kv = kv_bytes_per_token(total_b, active_b, k)
    attn = attn_flops_per_ctx(total_b, active_b, k)
    mem0 = w_bytes / (n * bw)
    mem1 = b * kv / (n * bw)
    cmp0 = b * 2.0 * active_b * 1e9 / (n * flops * k["mfu_decode"])
    cmp1 = b * attn / (n * flops * k["mfu_decode"])
    t0 = k["step_s"] + k["step_tp_s"] * (n - 1.0) + k["step_seq_s"] * b
    idle = gpu.idle_w * n / b
    dyn = (gpu.tdp_w - gpu.idle_w) * n / b
    busy_w = gpu.idle_w + k["prefill_util"] * (gpu.tdp_w - gpu.idle_w)
    j_per_flop = busy_w / (flops * k["mfu_prefill"])
    pre_tok = 2.0 * active_b * 1e9 * j_per_flop
    pre_pair = attn * j_per_flop
    # A cached token skips its projections and MLP; what remains is loading its KV entry
    # (accounted as a fraction of a fresh token) and being attended to (the pair term).
    pre_cached = pre_tok * k["cached_fraction"]
    return TextCoeffs(pre_tok, pre_pair, pre_cached, mem0, mem1, cmp0, cmp1, t0, idle, dyn,
                      k["w_mem"], k["w_cmp"], gpus, b)


def prefill_j(c: TextCoeffs, uncached: float, cached: float) -> float:
    """Prefill energy (J): linear projections plus causal attention over the whole context."""
    return (uncached * (c.pre_j_tok + c.pre_j_pair * (cached + 0.5 * uncached))
            + cached * c.pre_j_cached)


def decode_j(c: TextCoeffs, context: float, output: float) -> float:
    """Decode energy (J) of `output` tokens generated after `context` tokens of prompt."""
    if output <= 0:
        return 0.0
    ctx = context + 0.5 * output  # average context seen by each generated token
    tm = c.mem0 + c.mem1 * ctx
    tc = c.cmp0 + c.cmp1 * ctx
    t = (tm if tm > tc else tc) + c.t0
    u = (c.w_mem * tm + c.w_cmp * tc) / t
    if u > 1.0:
        u = 1.0
    return output * (c.idle_w + u * c.dyn_w) * t


def embed_coeffs(total_b: float, prec: Precision, gpu: GPU, k: Mapping[str, float]) -> float:
    """J per embedded token: encoder forward (2 x params FLOPs) at large batch, busy power."""
    flops = gpu.flops(prec.compute)
    busy_w = gpu.idle_w + k["prefill_util"] * (gpu.tdp_w - gpu.idle_w)
    return 2.0 * total_b * 1e9 * busy_w / (flops * k["mfu_embed"])
