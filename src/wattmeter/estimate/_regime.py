"""Serving regimes: a provider's fleet, tuned self-hosting, naive single-request inference.

The regime changes the inputs of the one text physics (`_text.text_coeffs`), never its
result: a provider fleet picks its replica size and batch under an interactivity target,
serves some input from a prefix cache, decodes several tokens per step by speculation and
pays for its hosts and idle reserved machines; naive inference runs library defaults at
batch 1 on a node whose other accelerators and host draw power meanwhile (data/regimes.json,
docs/methodology.md "Regimes").
"""

from __future__ import annotations

import bisect
import datetime as _dt
import json
import math
import random
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from . import _text
from ._hardware import GPU, Precision
from ._physics import constants

__all__ = [
    "BOUNDARIES",
    "REGIMES",
    "ProviderRegime",
    "anchors",
    "check_regime",
    "choose",
    "common",
    "disclosure_constants",
    "epoch",
    "epoch_span",
    "excluded",
    "fleet_constants",
    "fleet_draw",
    "naive_constants",
    "naive_gpu",
    "naive_seconds_per_j",
    "naive_server_factor",
    "provider_regime",
    "provider_text",
    "set_excluded",
    "timestamp_of",
]

REGIMES = ("provider", "tuned", "naive")
#: The boundary `Footprint.energy_wh` is on, by regime (docs/regimes.md).
BOUNDARIES = {"provider": "comprehensive", "tuned": "facility", "naive": "facility"}
#: Providers whose calls are self-hosted or unknown: the tuned regime by default.
_SELF = frozenset({"self-hosted", "custom"})
_DATA = Path(__file__).with_name("data") / "regimes.json"
_raw: dict[str, Any] = {}
_periods: dict[str, list[ProviderRegime]] = {}
_changes: list[float] = []  # every effective date (epoch seconds), sorted
#: Disclosure ids whose derived constants are refitted without them (benchmarks only).
_excluded: set[str] = set()
#: `common()`'s answers for the current exclusions (a fleet build asks thousands of times).
_common: dict[str, tuple[float, float, float]] = {}


class ProviderRegime(NamedTuple):
    """One provider's fleet from one effective date (regimes.json)."""

    provider: str
    effective_from: str
    hardware: tuple[tuple[str, float], ...] | None
    precision: tuple[tuple[str, float], ...]
    speed: tuple[float, float]        # per-user output tokens/s the fleet is run at
    max_gpus: int                     # largest replica (expert-parallel domain)
    disaggregated: bool
    prefill_share: float              # share of an aggregated step's budget taken by prefill
    prefix_hit: tuple[float, float]   # share of uncached input tokens served from a cache
    spec_draft: int                   # tokens drafted per step
    spec_accept: tuple[float, float]  # acceptance rate per drafted token
    draft_cost: float                 # drafting's extra energy per decode step
    source: str
    anchor: Mapping[str, Any] | None = None  # a disclosure constraining it (`_anchor`)


def _data() -> dict[str, Any]:
    if not _raw:
        raw = json.loads(_DATA.read_text(encoding="utf-8"))
        changes = set()
        for name, entries in raw["providers"].items():
            out = []
            for e in entries:
                if "same_as" in e:
                    e = {**raw["providers"][e["same_as"]][0], **{
                        k: v for k, v in e.items() if k != "same_as"}}
                out.append(ProviderRegime(
                    name, e["effective_from"],
                    tuple((str(g), float(w)) for g, w in e["hardware"]) if e["hardware"] else None,
                    tuple((str(p), float(w)) for p, w in e["precision"]),
                    (float(e["interactivity_tps"][0]), float(e["interactivity_tps"][1])),
                    int(e["max_gpus"]), bool(e["disaggregated"]), float(e["prefill_share"]),
                    (float(e["prefix_hit"][0]), float(e["prefix_hit"][1])),
                    int(e["spec_draft"]),
                    (float(e["spec_accept"][0]), float(e["spec_accept"][1])),
                    float(e["draft_cost"]), e["source"], e.get("anchor")))
                changes.add(timestamp_of(e["effective_from"]))
            _periods[name] = sorted(out, key=lambda r: r.effective_from)
        _changes[:] = sorted(changes)
        _raw.update(raw)
    return _raw


def check_regime(value: Any, field: str = "regime") -> str | None:
    """None or one of `REGIMES`; anything else is a ValueError naming the field."""
    if value is None or value in REGIMES:
        return value
    raise ValueError(f"{field}: got {value!r}; expected one of "
                     f"{', '.join(repr(r) for r in REGIMES)} (or None for the default)")


def choose(dep_regime: str | None, cfg_regime: str | None, provider: str,
           physical: bool) -> str:
    """The regime of a call: the `Deployment`'s, else the configuration's, else "tuned"
    for self-hosted or unknown providers and when `physical` (the deployment names its
    hardware, or an open-weight model is named without a provider), else "provider"."""
    if dep_regime:
        return dep_regime
    if cfg_regime and cfg_regime != "auto":
        return cfg_regime
    return "tuned" if physical or provider in _SELF else "provider"


def timestamp_of(value: Any) -> float:
    """Epoch seconds of a date, datetime, ISO text or number; ValueError naming `date`."""
    if isinstance(value, bool):
        raise ValueError(f"date: got {value!r}; expected a date, datetime, ISO date text "
                         "or epoch seconds")
    if isinstance(value, (int, float)):
        if math.isfinite(value) and 0 <= value < 1e11:
            return float(value)
    elif isinstance(value, _dt.datetime):
        v = value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
        return v.timestamp()
    elif isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day,
                            tzinfo=_dt.timezone.utc).timestamp()
    elif isinstance(value, str):
        try:
            return timestamp_of(_dt.datetime.fromisoformat(value.strip()))
        except ValueError:
            pass
    raise ValueError(f"date: got {value!r}; expected a date, datetime, ISO date text "
                     "('2025-05-01') or epoch seconds")


def epoch(ts: float) -> int:
    """Index of the span between effective dates (of any provider) that `ts` falls in."""
    _data()
    return bisect.bisect_right(_changes, ts)


def epoch_span(ep: int) -> tuple[float, float]:
    """Epoch seconds [start, end) of the span `ep` (`epoch`)."""
    _data()
    inf = float("inf")
    return (_changes[ep - 1] if ep > 0 else -inf, _changes[ep] if ep < len(_changes) else inf)


def provider_regime(provider: str, ts: float | None = None) -> ProviderRegime:
    """The provider's fleet in effect at `ts` (now when None); the first entry before it,
    the generic `_default` for providers without one."""
    _data()
    periods = _periods.get(provider) or _periods["_default"]
    if ts is None:
        ts = _dt.datetime.now(_dt.timezone.utc).timestamp()
    starts = [timestamp_of(p.effective_from) for p in periods]
    i = bisect.bisect_right(starts, ts) - 1
    return periods[max(i, 0)]


def set_excluded(ids: Iterable[str]) -> None:
    """Refit disclosure-derived constants without these disclosures (benchmarks; callers
    then clear the estimate cache)."""
    _excluded.clear()
    _excluded.update(ids)
    _common.clear()


def excluded() -> frozenset[str]:
    """The disclosures currently left out of the constants."""
    return frozenset(_excluded)


def common(name: str) -> tuple[float, float, float]:
    """(central, low, high) of a provider-fleet constant; a constant with several sources is
    their geometric mean, without any source whose disclosure is excluded."""
    got = _common.get(name)
    if got is not None:
        return got
    e = _data()["provider_common"][name]
    if "values" not in e:
        v = float(e["value"])
        got = v, float(e.get("low", v)), float(e.get("high", v))
    else:
        vals = [float(s["value"]) for s in e["values"] if s.get("disclosure") not in _excluded]
        c = math.exp(sum(math.log(v) for v in vals) / len(vals))
        got = c, float(e["low"]), float(e["high"])
    _common[name] = got
    return got


def disclosure_constants() -> dict[str, list[str]]:
    """Constant name -> the disclosures it is partly derived from."""
    out: dict[str, list[str]] = {}
    for name, e in _data()["provider_common"].items():
        ids = [s["disclosure"] for s in e.get("values", ()) if s.get("disclosure")]
        if ids:
            out[name] = ids
    return out


def fleet_constants(kt: Mapping[str, Any]) -> dict[str, Any]:
    """The text constants with a production serving stack's per-step times (fitted to
    InferenceMAX, benchmarks/regimes.py) in place of the vLLM ones fitted to ML.ENERGY."""
    w8 = common("weight_factor_8bit")[0]  # production FP8 kernels, dense and expert alike:
    return {**kt, "step_s": common("step_s")[0], "step_tp_s": common("step_tp_s")[0],
            "weight_factor_8bit": w8, "weight_factor_8bit_expert": w8,
            "u_8bit_expert": 0.0}  # the vLLM expert factors are ML.ENERGY's, not a fleet's


def anchors() -> dict[str, list[str]]:
    """Provider -> the disclosures anchoring its fleet (any effective date)."""
    _data()
    return {p: sorted({r.anchor["disclosure"] for r in rs if r.anchor})
            for p, rs in _periods.items() if any(r.anchor for r in rs)}


def naive_constants() -> dict[str, Any]:
    """The naive regime's constants: name -> value (and name_low/name_high)."""
    out: dict[str, Any] = {}
    for key, e in _data()["naive"].items():
        out[key] = e["value"]
        for extra in ("low", "high"):
            if extra in e:
                out[f"{key}_{extra}"] = e[extra]
    return out


def naive_gpu(g: GPU) -> tuple[GPU, Precision]:
    """The accelerator and precision of library-default inference: FP32 weights, matrix
    multiplies in FP32 (PyTorch defaults). A diffusion denoiser's split between FP32 and
    a U-Net's TF32 convolutions is the diffusion physics' (`_diffusion.diffusion_coeffs`)."""
    fp32 = g.tflops.get("fp32", g.tflops["bf16"])
    return g._replace(tflops={**g.tflops, "naive": fp32}), Precision("naive", 4.0, "naive")


def naive_server_factor(g: GPU, gpus: int, seconds_per_j: float, host_w: float) -> float:
    """Server / accelerator energy of a request on a node whose other accelerators idle
    and whose host draws `host_w` meanwhile; `seconds_per_j`: request time per active J."""
    k = naive_constants()
    others = max(float(k["node_gpus"]) - gpus, 0.0) * g.idle_w
    return 1.0 + (others + host_w) * seconds_per_j


def _step(c: _text.TextCoeffs, ctx: float, verify: float) -> float:
    tm = c.mem0 + c.mem1 * ctx
    tc = (c.cmp0 + c.cmp1 * ctx) * verify
    return (tm if tm > tc else tc) + c.t0


def _retime(c: _text.TextCoeffs, kt: Mapping[str, float], n: int, b: float,
            tp_max: float, a2a: float = 0.0) -> _text.TextCoeffs:
    """Step overhead with tensor-parallel cost over at most `tp_max` ranks (wider replicas
    add expert/data parallelism) plus the all-to-all time `a2a` beyond the NVLink domain."""
    t_tp = kt["step_tp_s"] * (min(float(n), tp_max) - 1.0) + a2a
    t_seq = kt["step_seq_s"] * b
    busy0 = (kt.get("u_fix", 0.0) * kt["step_s"] + kt.get("u_tp", 0.0) * t_tp
             + kt.get("u_seq", 0.0) * t_seq)
    return c._replace(t0=kt["step_s"] + t_tp + t_seq, busy0=busy0)


def _a2a_parts(total: float, active: float, kt: Mapping[str, Any],
               shape: Mapping[str, Any], prec: Precision, g: GPU) -> tuple[float, ...] | None:
    """What the expert all-to-all time of one model, precision and accelerator depends on
    (`_a2a_s` per replica and batch); None for a dense model (no all-to-all)."""
    if active >= total:
        return None
    domain = common("tpu_domain" if g.key.startswith("TPU") else "nvlink_domain")[0]
    attn = _text.attn_flops_per_ctx(total, active, kt, shape)
    layers = float(shape.get("layers") or 0.0)
    width = (math.sqrt(active * 1e9 / (12.0 * layers)) if layers
             else active * 1e9 / (3.0 * attn))
    layers = layers or attn / (4.0 * width)
    k = float(shape.get("experts_active") or 8.0)
    return domain, k, width, prec.bytes, layers, common("network_gbs")[0]


def _a2a_s(parts: tuple[float, ...] | None, n: int, b: float) -> float:
    """Seconds per decode step of the expert all-to-all that leaves the NVLink domain:
    every token's hidden state goes to its k experts and back in each MoE layer, and the
    share of peers outside the domain is reached over the per-GPU network."""
    if parts is None or n <= parts[0]:
        return 0.0
    domain, k, width, nbytes, layers, network = parts
    cross = 1.0 - domain / n
    return b * k * width * 2.0 * nbytes * layers * cross / (n * network * 1e9)


def provider_text(total: float, active: float, prec: Precision, g: GPU,
                  kt: Mapping[str, float], shape: Mapping[str, Any], rp: ProviderRegime,
                  speed: float, hit: float, accept: float, gpus: int | None = None,
                  batch: float | None = None, ctx: float | None = None,
                  load: float = 1.0) -> _text.TextCoeffs:
    """Per-token text coefficients of a provider fleet: the replica size (from the memory
    minimum up to `max_gpus`), batch and use of speculation that give the most tokens per
    accelerator-second with a step no longer than the interactivity target allows, then
    speculation and prefix caching applied to the per-token costs; `load`: the replica's
    average share of that batch. `kt`: the text constants with the serving stack's step
    times (`fleet_constants`); `ctx`: mean context while decoding."""
    ctx = ctx or common("context_tokens")[0]
    g = g._replace(decode=(1.0, 1.0, 1.0))  # production kernels (`fleet_constants`)
    tp_max = common("tp_max")[0]
    b_max = common("max_batch")[0]
    k = rp.spec_draft
    # (tokens per step, tokens verified per step): drafting only where it pays, as a
    # serving stack chooses its draft length, none at low acceptance (Leviathan et al.
    # 2023, section 3.5) and turns it off under load (vLLM dynamic speculation, 2024)
    modes = [(1.0, 1.0)]
    if accept > 0:
        modes.insert(0, ((1.0 - accept ** (k + 1)) / (1.0 - accept) if accept < 1.0
                         else k + 1.0, float(k + 1)))
    share = 1.0 if rp.disaggregated else 1.0 - rp.prefill_share
    kv = _text.kv_bytes_per_token(total, active, kt, shape)
    n_min = gpus or _text.gpus_needed(total, prec, g, kt)
    # the search needs step times only: the model's roofline once, scaled per (n, b)
    r = _text.roof(total, active, prec, g, kt, shape)
    f_w, f_x = _text.weight_factors(prec, g, kt)
    f_kv, eff = kt["kv_factor"] * g.decode[2], kt["bw_eff"]
    a2a = _a2a_parts(total, active, kt, shape, prec, g)

    def parts(n: int, b: float) -> tuple[float, float, float]:
        st = _text.step_terms_at(r, n, b)  # (memory, compute unverified, overhead) s/step
        mem0, mem1 = _text.mem_times(st, f_w, f_x, f_kv, eff)
        t_tp = kt["step_tp_s"] * (min(float(n), tp_max) - 1.0) + _a2a_s(a2a, n, b)
        return (mem0 + mem1 * ctx, st.cmp0 + st.cmp1 * ctx,
                kt["step_s"] + t_tp + kt["step_seq_s"] * b)

    def step(p: tuple[float, float, float], verify: float) -> float:
        tc = p[1] * verify
        return (p[0] if p[0] > tc else tc) + p[2]

    best: tuple[float, int, float, float, float] | None = None
    n = n_min
    while True:
        p1, p2 = parts(n, 1.0), parts(n, 256.0)
        b_mem = max((n * g.memory_gb * 1e9 - total * 1e9 * prec.bytes) / (kv * ctx), 1.0)
        for tau, verify in modes:
            b = float(batch or 0.0)
            if not batch:
                t1 = step(p1, verify)
                slope = max((step(p2, verify) - t1) / 255.0, 1e-9)
                b = min(max(1.0 + (tau / speed * share - t1) / slope, 1.0), b_mem, b_max)
            rate = b * tau / (n * step(parts(n, b), verify))  # tokens per accelerator-second
            if best is None or rate > best[0]:
                best = (rate, n, b, tau, verify)
        if gpus or n * 2 > max(rp.max_gpus, n_min):
            break
        n *= 2
    assert best is not None  # `modes` is never empty
    _, n, b, tau, verify = best
    c = _retime(_text.text_coeffs(total, active, prec, g, n, b, kt, shape), kt, n, b, tp_max,
                _a2a_s(a2a, n, b))
    if load < 1.0 and not batch:
        b = max(1.0, c.batch * load)
        c = _retime(_text.text_coeffs(total, active, prec, g, c.gpus, b, kt, shape), kt,
                    c.gpus, b, tp_max, _a2a_s(a2a, c.gpus, b))
    f = 1.0 + (rp.draft_cost if verify > 1.0 else 0.0)
    return c._replace(
        pre_j_tok=(1.0 - hit) * c.pre_j_tok + hit * c.pre_j_cached,
        mem0=c.mem0 / tau, mem1=c.mem1 / tau, cmp0=c.cmp0 * verify / tau,
        cmp1=c.cmp1 * verify / tau, t0=c.t0 / tau, busy0=c.busy0 / tau,
        idle_w=c.idle_w * f, dyn_w=c.dyn_w * f)


def fleet_draw(rng: random.Random, rp: ProviderRegime,
                   nominal: bool) -> tuple[float, float, float]:
    """(per-user speed, prefix-cache hit share, speculation acceptance) of one draw; the
    middle of each range when `nominal`."""
    (s_lo, s_hi), (h_lo, h_hi), (a_lo, a_hi) = rp.speed, rp.prefix_hit, rp.spec_accept
    if nominal:
        return math.sqrt(s_lo * s_hi), 0.5 * (h_lo + h_hi), 0.5 * (a_lo + a_hi)
    return (s_lo * (s_hi / s_lo) ** rng.random(), rng.uniform(h_lo, h_hi),
            rng.uniform(a_lo, a_hi))


#: Kinds whose naive duration is a prefill at busy power then decode steps at batch 1
#: (a Whisper-style encoder counts as the prefill of its decoder).
_NAIVE_DECODERS = frozenset(("text", "ar-image", "speech", "stt-llm", "stt"))


def naive_seconds_per_j(kind: str, phys: Any, g: GPU, n: int, nom: tuple[float, float],
                        tokens: tuple[float, float], kt: dict[str, Any]) -> float:
    """Duration per accelerator J of the reference request under naive inference
    (`tokens`: its prompt and generated tokens, for the decoder kinds)."""
    e = nom[0] + nom[1]
    if e <= 0:
        return 0.0
    busy_w = g.idle_w + kt["prefill_util"] * (g.tdp_w - g.idle_w)
    if kind in _NAIVE_DECODERS:
        n_in, n_out = tokens
        dec = phys[1] if kind == "stt" else phys  # (encoder J, decoder coefficients)
        ctx = n_in + 0.5 * n_out
        tm = dec.mem0 + dec.mem1 * ctx
        tc = dec.cmp0 + dec.cmp1 * ctx
        return (nom[0] / (n * busy_w) + n_out * (max(tm, tc) + dec.t0)) / e
    if kind == "embed":  # one forward pass at busy power
        return 1.0 / (n * busy_w)
    if kind == "diffusion":
        kd = constants("diffusion")
        return 1.0 / (n * (g.idle_w + kd["busy_util"] * (g.tdp_w - g.idle_w)))
    return 0.0
