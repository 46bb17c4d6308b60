"""Per-(model, provider, operation, deployment) coefficients, computed once and cached.

`build` picks the nominal deployment (the given one, else the provider's dominant GPU,
the median batch, the GPU count memory needs), the server factor, PUE and grid intensity,
then runs a small fixed-seed Monte Carlo over what is unknown to turn each energy
component into 5th/95th-percentile ratios (docs/methodology.md, "Uncertainty").
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any, NamedTuple

from . import _anchor, _diffusion, _kinds, _lifecycle, _regime, _text
from ._hardware import GPU, Precision, gpu, precision
from ._hold import hold
from ._physics import constants, percentile
from ._resolve import KV_CACHE_BYTES, Deployment, Subject, resolve

__all__ = ["Coef", "build", "components", "model_sigma"]


class Coef(NamedTuple):
    """Everything a call's estimate needs besides its own counts."""

    kind: str                # text | embed | diffusion | ar-image | speech | stt | stt-llm
    model: str               # the name shown in footprints
    provider: str
    phys: Any                # physics coefficients of the nominal deployment
    defaults: tuple[float, float, float, float, float]  # width, height, steps, frames, fps
    # (ar-image: width, height, image tokens of one default-size image, 0, 0)
    ks: float                # server / accelerator
    pue: float
    intensity: float         # gCO2e/kWh
    zone: str
    ratios: tuple[float, ...]  # for acc, server, facility, co2: lo0, lo1, hi0, hi1 (per J);
    # 32 when a per-call quantity is assumed (diffusion steps, image tokens): the first 16
    # carry its assumed range, the last 16 apply when the call gives it
    warnings: tuple[str, ...]
    registry_model: str | None
    request_j: float         # fixed accelerator J of a request with nothing generated
    # Life-cycle factors per accelerator J (`_lifecycle.factors`): one block of
    # `_lifecycle.LIFE_SIZE` per block of `ratios`, sliced together with it.
    life: tuple[float, ...] = ()
    regime: str = "tuned"    # provider | tuned | naive (`_regime`)
    boundary: str = "facility"  # what `energy_wh` counts (`_regime.BOUNDARIES`)
    market: float = 0.0      # market-based gCO2e/kWh (`_market.market_factor`)
    # True when no market figure is known and the location factor stands in: the market
    # CO2e is then the location CO2e, range included (which zone serves the call is unknown)
    market_is_location: bool = False


def _phys(kind: str, s: Subject, total: float, active: float, prec: Precision, g: GPU,
          gpus: int | None, batch: float | None,
          kt: dict[str, Any] | None = None) -> tuple[Any, int]:
    """Physics coefficients for one deployment draw, and the GPU count used (`kt`: the
    text constants, replaced by the naive regime's kernels)."""
    kt = kt or constants("text")
    if kind == "text" or kind == "stt-llm" or kind == "ar-image":
        n = gpus or _text.gpus_needed(total, prec, g, kt)
        b = batch or kt["batch_median"]
        return _text.text_coeffs(total, active, prec, g, n, b, kt, s.shape), n
    if kind == "embed":
        return _text.embed_coeffs(active, prec, g, kt), 1
    if kind == "speech":
        n = gpus or _text.gpus_needed(total, prec, g, kt)
        b = batch or constants("speech")["batch"]
        return _text.text_coeffs(total, active, prec, g, n, b, kt, s.shape), n
    if kind == "stt":
        ks = constants("speech")
        enc_b = total * ks["encoder_fraction"]
        j_flop = (g.idle_w + kt["prefill_util"] * (g.tdp_w - g.idle_w)) / (
            g.flops(prec.compute) * kt["mfu_prefill"])
        frames = ks["encoder_frames"]
        attn = _text.attn_flops_per_ctx(enc_b, enc_b, kt)
        enc_j = (2.0 * enc_b * 1e9 * frames + attn * frames * frames) * j_flop
        n = gpus or 1
        dec = _text.text_coeffs(total - enc_b, total - enc_b, prec, g, n,
                                batch or ks["batch"], kt)
        return (enc_j, dec), n
    fam = _diffusion.family(s.family, s.modality)
    kd = constants("diffusion")
    if prec.compute == "naive":  # library-default kernels (regimes.json "naive")
        kd = {**kd, "naive_mfu": kt["fp32_gemm_eff"]}
    elif "diffusion_attn_mfu" in kt:  # a provider's production attention kernels
        kd = {**kd, "attn_mfu": kt["diffusion_attn_mfu"]}
    n = max(gpus or 1, _text.gpus_needed(total, prec, g, kd))
    # a mixture-of-experts denoiser (Wan2.2 A14B) runs one expert per step: FLOPs follow
    # the active size, memory the total
    return _diffusion.diffusion_coeffs(fam, active, prec, g, n, batch or 1, kd, s.shape), n


def components(kind: str, phys: Any, d: tuple[float, ...], uncached: float, cached: float,
               out: float, width: float, height: float, steps: float, frames: float,
               items: float, seconds: float, chars: float) -> tuple[float, float]:
    """Accelerator joules of a request's two components (prefill/decode, or one).

    For "ar-image", `steps` is the image tokens of one image of the default size `d`; `out`,
    when positive, is the image tokens the provider reported for all `items` images.
    """
    if kind == "text":
        return (_text.prefill_j(phys, uncached, cached),
                _text.decode_j(phys, uncached + cached, out))
    if kind == "ar-image":
        per = out / items if out > 0 else steps * (width * height) / (d[0] * d[1])
        return (_text.prefill_j(phys, uncached, cached),
                items * _text.decode_j(phys, uncached + cached, per))
    if kind == "embed":
        return (uncached + cached) * phys, 0.0
    if kind == "diffusion":
        return _diffusion.diffusion_j(phys, width, height, frames, steps, items), 0.0
    n_in, n_out = _kinds.audio_tokens(kind, uncached, out, seconds, chars)
    if kind == "speech":
        return _text.prefill_j(phys, n_in, 0.0), _text.decode_j(phys, n_in, n_out)
    if kind == "stt":
        enc_j, dec = phys
        window = constants("speech")["window_s"]
        windows = math.ceil(seconds / window) if seconds > 0 else 0
        return windows * enc_j, _text.decode_j(dec, 0.0, n_out)
    return _text.prefill_j(phys, n_in, cached), _text.decode_j(phys, n_in + cached, n_out)


def model_sigma(kind: str, s: Subject) -> float:
    """Log-normal spread of the physics' own error for this model: the leave-one-model-out
    residual of calibrated-like models, widened in quadrature for what is unknown about it
    (no registry entry, no published architecture, family unknown, size outside the
    calibrated span); docs/methodology.md, "Uncertainty"."""
    base = {"text": constants("text")["model_error_sigma"],
            "diffusion": constants("diffusion")["model_error_sigma"],
            "ar-image": constants("image_tokens")["model_error_sigma"]}.get(kind, 0.5)
    if kind not in ("text", "diffusion"):
        return float(base)
    ku = constants("uncertainty")
    extra = 0.0
    if s.registry_model is None and s.name.startswith("spec:"):
        extra += ku["sigma_no_architecture"] ** 2  # a ModelSpec: sizes only
    elif s.registry_model is None:
        extra += ku["sigma_unknown_model"] ** 2  # guessed from its name: class unknown
    elif not s.shape:
        extra += ku["sigma_no_architecture"] ** 2
    if kind == "diffusion" and (not s.family or _diffusion.family(
            s.family, s.modality).key.startswith(("dit-", "closed-"))):
        extra += ku["sigma_unknown_family"] ** 2
    lo, hi = ku[f"calibrated_{kind}_b"]
    size = s.active_b if kind == "diffusion" else s.total_b
    outside = max(0.0, math.log10(lo / size), math.log10(size / hi))
    extra += (ku["sigma_per_decade_outside"] * outside) ** 2
    return math.sqrt(base * base + extra)


def _pct(xs: list[float], wts: list[float], q: float) -> float:
    """A Monte Carlo percentile, weighted when a disclosure anchors the draws."""
    return _anchor.weighted_percentile(xs, wts, q) if wts else percentile(xs, q)


def build(s: Subject, dep: Deployment, pd: Any, zone: str, intensity: float,
          intensity_fixed: bool, pue: float, pue_fixed: bool, regime: str = "tuned",
          when: float | None = None) -> Coef:
    """Nominal coefficients plus Monte Carlo percentile ratios for one cache key, in one
    serving regime (`_regime`; `when`: the call's date, for the provider's fleet then)."""
    kind = _kinds.kind_of(s)
    rp = _regime.provider_regime(pd.provider, when) if regime == "provider" else None
    hw_table = rp.hardware if rp is not None and rp.hardware else pd.hardware
    mix = [(gpu(name), w) for name, w in hw_table if w > 0] or [(gpu("H100"), 1.0)]
    g_nom = gpu(dep.gpu) if dep.gpu else max(mix, key=lambda m: m[1])[0]
    prec_nom = precision(s.precision)
    kt = constants("text")
    if dep.kv_cache:  # an FP8 KV cache: half the bytes read per context token, and stored
        kt = {**kt, "kv_cache_bytes": KV_CACHE_BYTES[dep.kv_cache]}
    kn: dict[str, Any] = {}
    fleet = rp is not None and kind in _kinds.DECODER_KINDS
    naive = regime == "naive"
    # a fleet's ranges, or a tuned replica's drawn GPU, count and batch: the central is the
    # draws' median (the nominal replica sat x0.75-0.9 below it)
    center = fleet or (not naive and kind in _kinds.DECODER_KINDS)
    d = _kinds.request_defaults(kind, s)
    ref = _kinds.reference_request(kind, d)
    rng = random.Random(20260216)
    precs: list[Precision] = []
    p_cum: list[float] = []
    if fleet:
        assert rp is not None
        kt = _regime.fleet_constants(kt)
        if not s.precision:
            prec_nom = precision(max(rp.precision, key=lambda p: p[1])[0])
        load = _regime.common("load_factor")
        precs = [precision(p[0]) for p in rp.precision]
        p_cum = list(itertools.accumulate(p[1] for p in rp.precision))
        phys = _regime.provider_text(s.total_b, s.active_b, prec_nom, g_nom, kt, s.shape, rp,
                                     *_kinds.realtime(kind, _regime.fleet_draw(rng, rp, True)),
                                     dep.gpus, dep.batch_size, load=load[0])
        n_nom = phys.gpus
    elif naive:
        kn = _regime.naive_constants()
        kt = {**kt, "step_s": kn["step_s"], "mfu_prefill": kn["mfu_prefill"],
              "mfu_embed": kn["mfu_prefill"], "fp32_gemm_eff": kn["fp32_gemm_eff"]}
        if s.precision in (None, "bf16", "fp16"):
            g_nom, prec_nom = _regime.naive_gpu(g_nom)
        phys, n_nom = _phys(kind, s, s.total_b, s.active_b, prec_nom, g_nom, dep.gpus, 1, kt)
    else:
        if rp is not None and kind == "diffusion":
            kt = {**kt, "diffusion_attn_mfu": _regime.common("diffusion_attn_mfu")[0]}
        phys, n_nom = _phys(kind, s, s.total_b, s.active_b, prec_nom, g_nom, dep.gpus,
                            dep.batch_size, kt)
    ov = constants("overhead")
    nom = components(kind, phys, d, *ref)
    ks_lo, ks_hi = float(ov["server_factor_low"]), float(ov["server_factor_high"])
    ks = float(ov["server_factor"])
    sec_per_j = 0.0
    if rp is not None:  # host, DRAM, network and idle reserved machines of the fleet
        (h, h_lo, h_hi), (i, i_lo, i_hi) = _regime.common("host_ratio"), _regime.common(
            "idle_share")
        ks = (1.0 + h) / (1.0 - i)
    elif naive:  # the node's other accelerators idle and its host draws power meanwhile
        sec_per_j = _regime.naive_seconds_per_j(kind, phys, g_nom, n_nom, nom,
                                                _kinds.request_tokens(kind, ref), kt)
        ks = _regime.naive_server_factor(g_nom, n_nom, sec_per_j, kn["host_w"])
        ks_lo = _regime.naive_server_factor(g_nom, n_nom, sec_per_j, kn["host_w_low"])
        ks_hi = _regime.naive_server_factor(g_nom, n_nom, sec_per_j, kn["host_w_high"])

    ku = constants("uncertainty")
    sigma = model_sigma(kind, s)
    kd = constants("diffusion")
    bsig = math.log(kt["batch_p95"] / kt["batch_p5"]) / (2 * 1.645)
    if center and not fleet and not dep.gpu:  # a replica fits one node where the mix allows
        mix = _text.node_mix(mix, s.total_b, prec_nom, kt)
    names = [m[0] for m in mix]
    cum = list(itertools.accumulate(m[1] for m in mix))  # what `choices(weights=)` sums per call
    spread = _kinds.assumed_spread(kind, s)
    # samples[0:8]: the assumed quantity drawn from its range; samples[8:16]: given by the call
    samples: list[list[float]] = [[] for _ in range(16)]
    memo: dict[tuple[Any, ...], Any] = {}
    # the central is the draws' median at the text reference (so an autoregressive image's
    # tokens cost what the same tokens cost in chat)
    t_ref = _kinds.reference_request("text", d)
    t_nom = components("text", phys, d, *t_ref) if center else (1.0, 1.0)
    med: list[list[float]] = [[], []]
    anc = _anchor.anchor_for(rp, resolve, model_sigma) if fleet and rp is not None else None
    sib_sigma = _regime.common("sibling_cost_sigma")[0] if anc is not None else 0.0
    wts: list[float] = []
    srng = random.Random(20260217)  # the assumed quantity's own stream: the other draws
    # then match the text path's draw for draw
    wrng = random.Random(20260218)  # likewise an attention window's
    f_nom = _regime.fleet_draw(rng, rp, True) if fleet and rp is not None else (0.0, 0.0, 0.0)
    for _ in range(int(ku["samples"])):
        u = hold("size", rng.random(), 0.5)
        total = (s.total_lo * (s.total_hi / s.total_lo) ** u
                 if s.total_hi > s.total_lo else s.total_b)
        active = (s.active_lo * (s.active_hi / s.active_lo) ** u
                  if s.active_hi > s.active_lo else s.active_b)
        active = min(active, total)
        g = gpu(dep.gpu) if dep.gpu else hold("hardware", rng.choices(names, cum_weights=cum)[0],
                                              g_nom)
        ph: Any
        if fleet:
            assert rp is not None
            prec = prec_nom if s.precision else hold(
                "precision", rng.choices(precs, cum_weights=p_cum)[0], prec_nom)
            (sp, hit, acc), (sp0, hit0, acc0) = _regime.fleet_draw(rng, rp, False), f_nom
            draw = (hold("interactivity", sp, sp0), hold("prefix_cache", hit, hit0),
                    hold("speculation", acc, acc0))
            load_i = hold("load", rng.triangular(load[1], load[2], load[0]), load[0])
            ph = _regime.provider_text(total, active, prec, g, kt, s.shape, rp,
                                       *_kinds.realtime(kind, draw), dep.gpus, dep.batch_size,
                                       load=load_i)
        else:
            kt_i = kt
            if naive:
                prec = prec_nom
                if s.precision in (None, "bf16", "fp16"):
                    g, prec = _regime.naive_gpu(g)
                kt_i = {**kt, "fp32_gemm_eff": rng.uniform(kn["fp32_gemm_eff_low"],
                                                           kn["fp32_gemm_eff_high"])}
            else:
                prec = prec_nom if s.precision else precision(rng.choice(("bf16", "fp8")))
            batch: float | None
            if naive:
                gpus, batch = dep.gpus, 1.0
            elif kind == "diffusion":
                gpus = dep.gpus or rng.choice(kd["gpu_choices"])
                batch = dep.batch_size or rng.choice(kd["batch_choices"])
            else:
                gpus = dep.gpus
                if kind in _kinds.DECODER_KINDS:
                    if gpus is None:
                        gpus = _text.gpus_needed(total, prec, g, kt) * (
                            2 if rng.random() < 0.3 else 1)
                    batch = dep.batch_size or kt["batch_median"] * math.exp(
                        rng.gauss(0.0, bsig))
                else:
                    batch = dep.batch_size
            pkey = (total, active, prec.key, g.key, gpus, batch, kt_i.get("fp32_gemm_eff"))
            ph = memo.get(pkey)
            if ph is None:  # a given deployment of a disclosed model repeats the same draw
                ph = memo[pkey] = _phys(kind, s, total, active, prec, g, gpus, batch, kt_i)[0]
        if kind == "diffusion" and ph.window_lo > 0.0:  # an undisclosed attention window
            ph = ph._replace(window_u=hold("attention_window", wrng.random(), 0.5))
        z = hold("physics_error", rng.gauss(0.0, 1.0), 0.0)  # the physics' error, standardised
        err = math.exp(z * sigma)
        if center:
            et = components("text", ph, d, *t_ref)
            for c in (0, 1):
                med[c].append(et[c] / (t_nom[c] or 1.0))  # the model error's median is 1
        e = components(kind, ph, d, *ref)
        eu = e
        if spread is not None:  # steps or image tokens: log-uniform in the assumed range
            lo_q, hi_q = spread
            ref_u = list(ref)
            ref_u[5] = lo_q * (hi_q / lo_q) ** srng.random()
            eu = components(kind, ph, d, *ref_u)
        if rp is not None:  # host and idle share drawn independently
            k_i = (1.0 + hold("host", rng.triangular(h_lo, h_hi, h), h)) / (
                1.0 - hold("idle_share", rng.triangular(i_lo, i_hi, i), i))
        else:
            k_i = rng.triangular(ks_lo, ks_hi, ks)
        p_i = pue if pue_fixed else hold("pue", rng.uniform(pd.pue_low, pd.pue_high), pue)
        if anc is not None and rp is not None:  # how well this draw reproduces the
            # fleet's disclosure (at the provider's own PUE draw)
            own: tuple[float, float] | None = (total, active)
            a_err = err
            if anc.model != s.registry_model:  # a sibling's draw tells the anchor model's
                sib = anc.sibling_draw(rng, s, total, active, z, sib_sigma)
                a_err, own = (sib[2], (sib[0], sib[1])) if sib else (err, None)
            wts.append(anc.weight(rng, rp, g, prec, kt, draw, load_i, k_i,
                                  hold("pue", rng.uniform(pd.pue_low, pd.pue_high), pue)
                                  if pue_fixed else p_i,
                                  a_err, own))
        if intensity_fixed:
            i_i = intensity
        else:
            lo, hi = pd.intensity_low, pd.intensity_high
            i_i = lo * (hi / lo) ** rng.random() if 0 < lo < hi else intensity
        for off, ee in ((0, eu), (8, e)):
            for c in (0, 1):
                base = nom[c] or 1.0
                a = ee[c] * err / base
                samples[off + c].append(a)
                samples[off + 2 + c].append(a * k_i)
                samples[off + 4 + c].append(a * k_i * p_i)
                samples[off + 6 + c].append(a * k_i * p_i * i_i / 3.6e6)
    wts = hold("anchor", wts, [])  # (benchmarks: the anchor's draws made, its weights not used)
    if center:  # what is drawn is a range: the central is the draws' median
        m = [_pct(med[c], wts, 0.5) or 1.0 for c in (0, 1)]
        phys = phys._replace(pre_j_tok=phys.pre_j_tok * m[0], pre_j_pair=phys.pre_j_pair * m[0],
                             pre_j_cached=phys.pre_j_cached * m[0], idle_w=phys.idle_w * m[1],
                             dyn_w=phys.dyn_w * m[1])
        nom = (nom[0] * m[0], nom[1] * m[1])
        for i, xs in enumerate(samples):
            samples[i] = [x / m[i % 2] for x in xs]
    central = (1.0, ks, ks * pue, ks * pue * intensity / 3.6e6)
    ratios: list[float] = []
    for off in (0, 8) if spread is not None else (8,):
        for b in range(4):
            lo = [min(_pct(samples[off + 2 * b + c], wts, 0.05), central[b]) for c in (0, 1)]
            hi = [max(_pct(samples[off + 2 * b + c], wts, 0.95), central[b]) for c in (0, 1)]
            ratios += lo + hi
    # Life-cycle impacts (issue 10): per-J factors of the same hardware mix, zone and PUE.
    hw = ((g_nom.key, 1.0),) if dep.gpu else tuple((g.key, w) for g, w in mix)
    life = _lifecycle.factors(hw, pd.provider, zone, ks, pue, tuple(ratios), nom)
    return Coef(kind, s.name, s.provider or pd.provider, phys, d, ks, pue, intensity, zone,
                tuple(ratios), s.warnings, s.registry_model, float(ov["request_overhead_j"]),
                life, regime, _regime.BOUNDARIES[regime])
