"""Text generation and embeddings energy: a prefill/decode roofline model with a power model.

Prefill is compute-bound (2 x active parameters FLOPs per new input token plus causal
attention over the context); decode is one forward step per output token shared by the
batch, bounded by memory traffic (the distinct weights the batch touches, each sequence's
KV cache and recurrent state) or by compute, whichever is slower, plus step time that
grows with tensor parallelism and with the batch. Architecture facts from the registry
(`shape`: layers, KV heads, MLA rank, experts, Mamba layers) replace size laws where
published. Constants come from physics.json (docs/methodology.md, "Text").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from ._hardware import GPU, Precision

__all__ = [
    "ABSENT_MEANS",
    "REQUIRED_BY_ARCHITECTURE",
    "MoeLayout",
    "Roof",
    "StepTerms",
    "TextCoeffs",
    "attn_flops_per_ctx",
    "decode_j",
    "embed_coeffs",
    "gpus_needed",
    "kv_bytes_per_token",
    "mem_times",
    "moe_layout",
    "node_mix",
    "prefill_j",
    "roof",
    "step_terms",
    "step_terms_at",
    "text_coeffs",
    "weight_factors",
    "weights_read_b",
]

_EMPTY: Mapping[str, Any] = {}
#: Registry ``shape`` keys whose absence states a fact rather than leaving one unknown; the
#: registry audit (tests/estimate/test_shapes.py) requires every other key this physics reads.
ABSENT_MEANS: Mapping[str, str] = {
    "attention_layers": "every layer attends", "kv_lora_rank": "no latent attention (MLA)",
    "rope_head_dim": "no latent attention (MLA)", "sliding_window": "no sliding window",
    "sliding_layers": "no sliding window", "experts": "dense", "experts_active": "dense",
    "mamba_layers": "no Mamba layers", "mamba_state": "no Mamba layers"}
#: Keys an architecture requires although their absence alone would mean "no such feature".
REQUIRED_BY_ARCHITECTURE: Mapping[str, tuple[str, ...]] = {
    "moe": ("experts", "experts_active"),
    "hybrid": ("attention_layers", "mamba_layers", "mamba_state")}


class TextCoeffs(NamedTuple):
    """Per-(model, deployment) numbers that make a request's energy a few multiplications.

    Times are seconds per decode step, energies joules; ``idle_w``/``dyn_w`` are already
    multiplied by the GPU count and divided by the batch (one sequence's share).
    """

    pre_j_tok: float      # J per uncached input token (linear, 2 x active FLOPs)
    pre_j_pair: float     # J per (new token x context token) attention pair
    pre_j_cached: float   # J per cached input token
    mem0: float           # s/step: weight reads and recurrent state of the batch
    mem1: float           # s/step per context token: KV reads of the batch
    cmp0: float           # s/step: 2 x active FLOPs x batch
    cmp1: float           # s/step per context token: attention FLOPs x batch
    t0: float             # s/step: overhead (launches, all-reduce, per-sequence work)
    idle_w: float         # W share of idle power
    dyn_w: float          # W share of (TDP - idle)
    w_mem: float          # utilisation per unit of memory-bound time
    w_cmp: float          # utilisation per unit of compute-bound time
    gpus: int
    batch: float
    busy0: float = 0.0    # s/step: utilisation-weighted overhead time (sum of u_i x t_i)


class StepTerms(NamedTuple):
    """A decode step's time terms at unit constants (bandwidth efficiency 1): what the
    fitted constants multiply. ``mem_w`` is the always-read weights' traffic, ``mem_x``
    the routed experts', ``mem_s`` the batch's recurrent state, ``mem_kv`` KV traffic per
    context token; ``cmp*`` compute time."""

    mem_w: float
    mem_x: float
    mem_s: float
    mem_kv: float
    cmp0: float
    cmp1: float
    gpus: float
    batch: float


class MoeLayout(NamedTuple):
    """Always-read billions, one expert's billions, experts (0: dense) and the shape's
    experts routed per token (0: unknown) of a model."""

    dense_b: float
    expert_b: float
    experts: float
    k: float


def moe_layout(total_b: float, active_b: float, shape: Mapping[str, Any]) -> MoeLayout:
    """The model's `MoeLayout` from its sizes and shape."""
    experts = float(shape.get("experts", 0.0))
    k = k_given = float(shape.get("experts_active", 0.0))
    if active_b >= total_b:
        return MoeLayout(total_b, 0.0, 0.0, k)
    if experts <= k or k <= 0:
        # experts unknown: a fine-grained MoE of 8 active experts in 128 (Qwen3, gpt-oss
        # style) is the class default
        experts, k = 128.0, 8.0
    expert_b = (total_b - active_b) / (experts - k)
    return MoeLayout(max(active_b - k * expert_b, 0.0), expert_b, experts, k_given)


def _read_b(total_b: float, m: MoeLayout, batch: float) -> tuple[float, float]:
    if m.experts <= 0:
        return total_b, 0.0
    k = m.k if 0 < m.k < m.experts else 8.0
    touched = m.experts * (1.0 - (1.0 - k / m.experts) ** max(1.0, batch))
    return m.dense_b, min(total_b - m.dense_b, max(k, touched) * m.expert_b)


def weights_read_b(total_b: float, active_b: float, batch: float,
                   shape: Mapping[str, Any] = _EMPTY) -> tuple[float, float]:
    """Billions of parameters one decode step reads: (the always-active part, the experts
    at least one of the batch's tokens is routed to). Uniform routing touches
    E x (1 - (1 - k/E)^batch) distinct experts of E per MoE layer."""
    return _read_b(total_b, moe_layout(total_b, active_b, shape), batch)


def kv_bytes_per_token(total_b: float, active_b: float, k: Mapping[str, float],
                       shape: Mapping[str, Any] = _EMPTY) -> float:
    """KV-cache bytes per context token (K and V over the attention layers; bf16 unless
    ``k["kv_cache_bytes"]`` says otherwise).

    From the architecture when known: attention layers x KV heads x head dim x 2 x 2 bytes
    (GQA), or layers x (MLA latent rank + RoPE dims) x 2 bytes (MLA). Otherwise the size
    law fitted to published configs: about size^0.4 from Llama 3.1 8B's 128 KiB.
    """
    layers = float(shape.get("attention_layers") or shape.get("layers") or 0.0)
    if layers and shape.get("kv_lora_rank"):
        v = layers * (float(shape["kv_lora_rank"]) + float(shape.get("rope_head_dim", 64))
                      ) * 2.0
    elif layers and shape.get("kv_heads") and shape.get("head_dim"):
        v = layers * float(shape["kv_heads"]) * float(shape["head_dim"]) * 4.0
    else:
        v = k["kv_bytes_8b"] * (math.sqrt(total_b * active_b) / 8.0) ** k["kv_exponent"]
    elem = k.get("kv_cache_bytes", 2.0)  # a Deployment's kv_cache (bytes per element)
    return v if elem == 2.0 else v * elem / 2.0


def attn_flops_per_ctx(total_b: float, active_b: float, k: Mapping[str, float],
                       shape: Mapping[str, Any] = _EMPTY) -> float:
    """Attention FLOPs per (query token, context token) pair: 4 x attention layers x query
    heads x head dim from the architecture, else the size law (4 x layers x width)."""
    layers = float(shape.get("attention_layers") or shape.get("layers") or 0.0)
    if layers and shape.get("heads") and shape.get("head_dim"):
        return 4.0 * layers * float(shape["heads"]) * float(shape["head_dim"])
    size = math.sqrt(total_b * active_b)
    return k["attn_flops_8b"] * (size / 8.0) ** k["attn_exponent"]


def _window_share(shape: Mapping[str, Any], ctx: float) -> float:
    """Share of the KV traffic left when some layers attend to a sliding window only."""
    window = float(shape.get("sliding_window", 0.0))
    layers = float(shape.get("attention_layers") or shape.get("layers") or 0.0)
    local = float(shape.get("sliding_layers", 0.0))
    if not window or not layers or not local or ctx <= window:
        return 1.0
    return (layers - local + local * window / ctx) / layers


def gpus_needed(total_b: float, prec: Precision, gpu: GPU, k: Mapping[str, float]) -> int:
    """Smallest power-of-two GPU count whose memory holds the weights plus the headroom
    ``k["memory_headroom"]`` (KV cache and activations; physics.json, text and diffusion)."""
    need_gb = total_b * prec.bytes * k["memory_headroom"]
    n = max(1, math.ceil(need_gb / gpu.memory_gb))
    return 1 << (n - 1).bit_length()


def node_mix(mix: Sequence[tuple[GPU, float]], total_b: float, prec: Precision,
             k: Mapping[str, Any]) -> list[tuple[GPU, float]]:
    """The (GPU, weight) pairs of `mix` that hold the model in one node (at most
    ``k["max_replica_gpus"]`` of them): a replica whose GPU is unknown runs where it fits one
    node, not on 64 small GPUs. A model no node holds runs on the accelerators that need the
    fewest of them (the largest memories), not on hundreds of L4s."""
    need = [gpus_needed(total_b, prec, g, k) for g, _ in mix]
    fit = [m for m, n in zip(mix, need, strict=True) if n <= k["max_replica_gpus"]]
    if fit or not mix:
        return fit
    least = min(need)
    return [m for m, n in zip(mix, need, strict=True) if n == least]


class Roof(NamedTuple):
    """What a decode step's terms share across replica sizes and batches: one model, one
    precision, one accelerator (`roof`); `step_terms_at` scales it to a deployment."""

    total_b: float
    active_b: float
    prec_bytes: float
    moe: MoeLayout
    bw: float       # bytes/s of one accelerator
    flops: float    # decode FLOP/s of one accelerator
    state: float    # bytes of recurrent state per sequence
    kv: float       # KV bytes per context token (sliding windows applied)
    attn: float     # attention FLOPs per (query, context) pair


def roof(total_b: float, active_b: float, prec: Precision, gpu: GPU, k: Mapping[str, float],
         shape: Mapping[str, Any] = _EMPTY, ctx: float = 1000.0) -> Roof:
    """The deployment-independent part of `step_terms`."""
    # Mamba layers keep a fixed-size state per sequence, read and written every step
    # (heads x head dim x state size elements, bf16).
    state = 2.0 * 2.0 * float(shape.get("mamba_layers", 0.0)) * float(
        shape.get("mamba_state", 0.0))
    return Roof(total_b, active_b, prec.bytes, moe_layout(total_b, active_b, shape),
                gpu.bandwidth_gbs * 1e9,
                gpu.flops(prec.compute) * k["mfu_decode"], state,
                kv_bytes_per_token(total_b, active_b, k, shape) * _window_share(shape, ctx),
                attn_flops_per_ctx(total_b, active_b, k, shape))


def step_terms_at(r: Roof, gpus: float, batch: float) -> StepTerms:
    """The decode step's roofline terms of `r` on `gpus` accelerators at `batch`."""
    n = float(gpus)
    b = max(1.0, float(batch))
    bw, flops = r.bw, r.flops
    dense_b, expert_b = _read_b(r.total_b, r.moe, b)
    per_b = 1e9 * r.prec_bytes / (n * bw)
    return StepTerms(dense_b * per_b, expert_b * per_b, b * r.state / (n * bw),
                     b * r.kv / (n * bw), b * 2.0 * r.active_b * 1e9 / (n * flops),
                     b * r.attn / (n * flops), n, b)


def step_terms(total_b: float, active_b: float, prec: Precision, gpu: GPU, gpus: int,
               batch: float, k: Mapping[str, float], shape: Mapping[str, Any] = _EMPTY,
               ctx: float = 1000.0) -> StepTerms:
    """The decode step's roofline terms at unit constants (see `StepTerms`)."""
    return step_terms_at(roof(total_b, active_b, prec, gpu, k, shape, ctx), gpus, batch)


def mem_times(st: StepTerms, f_w: float, f_x: float, f_kv: float, eff: float) -> tuple[
        float, float]:
    """(mem0, mem1) of `TextCoeffs` from a step's terms and the weight/KV factors."""
    return (st.mem_w * f_w + st.mem_x * f_x + st.mem_s * f_kv) / eff, st.mem_kv * f_kv / eff


def weight_factors(prec: Precision, gpu: GPU, k: Mapping[str, float]) -> tuple[float, float]:
    """Decode time per byte of (always-read, expert) weights relative to dense bf16 weights
    on an H100. 8- and 4-bit weights are dequantised by the kernels (block scales) and do
    not stream at full bandwidth; small expert matrices in grouped kernels neither; each
    GPU generation's kernels differ (hardware.json decode_factors). Fitted."""
    f = fx = 1.0
    if prec.bytes <= 0.5:
        f = fx = float(k["weight_factor_4bit"])
    elif prec.bytes <= 1.0:
        # 8-bit experts run in grouped GEMMs that dequantise 128x128 weight blocks in the
        # inner loop (the block-scaled FP8 of Qwen3 and DeepSeek-V3 checkpoints), unlike the
        # row-scaled dense layers: their own factor (docs/methodology.md, "FP8 and FP4")
        f = float(k["weight_factor_8bit"])
        fx = float(k.get("weight_factor_8bit_expert", f))
    return f * gpu.decode[0], fx * float(k["expert_factor"]) * gpu.decode[1]


def text_coeffs(total_b: float, active_b: float, prec: Precision, gpu: GPU, gpus: int,
                batch: float, k: Mapping[str, float],
                shape: Mapping[str, Any] = _EMPTY) -> TextCoeffs:
    """Precompute the decode roofline and prefill costs of one model on one deployment."""
    st = step_terms(total_b, active_b, prec, gpu, gpus, batch, k, shape)
    n, b = st.gpus, st.batch
    eff = k["bw_eff"]
    f_w, f_x = weight_factors(prec, gpu, k)
    f_kv = k["kv_factor"] * gpu.decode[2]
    mem0, mem1 = mem_times(st, f_w, f_x, f_kv, eff)
    t_fix = k["step_s"]
    t_tp = k["step_tp_s"] * (n - 1.0)
    t_seq = k["step_seq_s"] * b
    busy0 = (k.get("u_fix", 0.0) * t_fix + k.get("u_tp", 0.0) * t_tp
             + k.get("u_seq", 0.0) * t_seq)
    if 0.5 < prec.bytes <= 1.0:  # block-scaled 8-bit experts: dequantising keeps SMs busy
        busy0 += k.get("u_8bit_expert", 0.0) * st.mem_x * f_x / eff
    idle = gpu.idle_w * n / b
    dyn = (gpu.tdp_w - gpu.idle_w) * n / b
    busy_w = gpu.idle_w + k["prefill_util"] * (gpu.tdp_w - gpu.idle_w)
    j_per_flop = busy_w / (gpu.flops(prec.compute) * k["mfu_prefill"])
    pre_tok = 2.0 * active_b * 1e9 * j_per_flop
    pre_pair = attn_flops_per_ctx(total_b, active_b, k, shape) * j_per_flop
    # A cached token skips its projections and MLP; what remains is loading its KV entry
    # (accounted as a fraction of a fresh token) and being attended to (the pair term).
    pre_cached = pre_tok * k["cached_fraction"]
    return TextCoeffs(pre_tok, pre_pair, pre_cached, mem0, mem1, st.cmp0, st.cmp1,
                      t_fix + t_tp + t_seq, idle, dyn, k["w_mem"], k["w_cmp"], gpus, b, busy0)


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
    busy = c.w_mem * tm + c.w_cmp * tc + c.busy0
    if busy > t:
        busy = t
    return output * (c.idle_w * t + c.dyn_w * busy)


def embed_coeffs(total_b: float, prec: Precision, gpu: GPU, k: Mapping[str, float]) -> float:
    """J per embedded token: encoder forward (2 x params FLOPs) at large batch, busy power."""
    flops = gpu.flops(prec.compute)
    busy_w = gpu.idle_w + k["prefill_util"] * (gpu.tdp_w - gpu.idle_w)
    return 2.0 * total_b * 1e9 * busy_w / (flops * k["mfu_embed"])
