"""Fit the constants marked "fitted" in physics.json and hardware.json, in closed form.

Usage: python benchmarks/calibrate.py [--reference DIR] [--without MODEL_ID ...]

The fitted constants enter the models linearly once the physics (architecture, bytes,
FLOPs, power) is computed per row, so each fit is a few weighted non-negative least
squares on relative errors (numpy only; milliseconds), fast enough that
benchmarks/accuracy.py refits everything once per left-out model. Text: decode step
time from the median inter-token latency (ITL), then utilisations from energy. Diffusion:
time terms from latency, the idle-time utilisation from energy, and the width exponent
of mfu and B200's compute efficiency by grid search. Everything else is taken from
sources (datasheets, configs, papers) or stated assumptions and is not fitted. It prints
the values; copying them into the data files is a deliberate, reviewed step.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from wattmeter.estimate import _api, _diffusion, _hardware, _physics, _text  # noqa: E402
from wattmeter.estimate._physics import constants  # noqa: E402
from wattmeter.estimate._registry import lookup  # noqa: E402

__all__ = ["DIFFUSION_FITTED", "TEXT_FITTED", "applied", "fit_diffusion", "fit_text",
           "input_tokens", "prepare_diffusion", "prepare_text"]

#: Constants fitted to the rows; every other constant is taken from a source.
TEXT_FITTED = ("bw_eff", "expert_factor", "kv_factor", "weight_factor_8bit",
               "weight_factor_8bit_expert", "weight_factor_4bit", "b200_decode_dense",
               "b200_decode_expert", "b200_decode_kv", "step_s", "step_tp_s", "step_seq_s",
               "mfu_prefill", "w_mem", "u_fix", "u_tp", "u_seq", "u_8bit_expert")
#: decode memory-time columns of the text fit: (kind, GPU class) and low-bit weights; 8-bit
#: expert weights (block-scaled grouped GEMMs) apart from 8-bit dense ones (issue 18)
_MEM = ("dense H", "dense B", "expert H", "expert B", "8bit", "4bit", "kv H", "kv B",
        "8bit expert")
DIFFUSION_FITTED = ("mfu_ref", "mfu_width_exp", "attn_mfu", "comm", "comm_attn", "step_s",
                    "sync_s", "ring_s", "overhead_util", "sync_util",
                    "b200_compute_eff")


def input_tokens(row: Mapping[str, str]) -> int:
    """Assumed input tokens of an LLM row (lengths are not published; physics.json)."""
    kt = constants("text")
    key = {"gpqa": "input_tokens_gpqa", "sourcegraph-fim": "input_tokens_fim"}.get(
        row["task"], "input_tokens_chat")
    return int(kt[key])


def _nnls(a: Any, y: Any, w: Any) -> Any:
    """Weighted least squares with x >= 0 (drop negative coefficients and refit)."""
    a = a * w[:, None]
    y = y * w
    free = np.ones(a.shape[1], dtype=bool)
    x = np.zeros(a.shape[1])
    for _ in range(a.shape[1]):
        sol, *_ = np.linalg.lstsq(a[:, free], y, rcond=None)
        x[:] = 0.0
        x[free] = sol
        if (x >= 0).all():
            break
        free &= x > 0
    return x


# ---------------------------------------------------------------------------- text
def prepare_text(rows: list[dict[str, str]]) -> dict[str, Any]:
    """Per-row physics of the LLM rows at unit values of the fitted constants."""
    kt = constants("text")
    cols: dict[str, list[Any]] = {k: [] for k in (
        "model", "mem", "tc", "n", "b", "out", "idle", "dyn", "prefill", "energy", "itl",
        "ctx", "for_time", "low", "blackwell")}
    for r in rows:
        info = lookup(r["model_id"])
        if info is None:
            raise ValueError(f"{r['model_id']}: not in the registry")
        g = _hardware.gpu(r["gpu"])
        prec = _hardware.precision(info.precision)
        n, b = int(r["num_gpus"]), max(1.0, float(r["avg_batch_size"]))
        n_in, out = input_tokens(r), float(r["avg_output_tokens"])
        ctx = n_in + 0.5 * out
        st = _text.step_terms(info.total_params_b, info.active_params_b, prec, g, n, b, kt,
                              info.shape)
        blackwell = g.key == "B200"
        mem = [0.0] * len(_MEM)
        mem[6 + blackwell] = st.mem_s + st.mem_kv * ctx
        low = [0.0, 0.0]  # low-bit weights: (always-read, expert) traffic
        if prec.bytes <= 1.0:
            low = [st.mem_w, st.mem_x]
            if prec.bytes > 0.5:
                mem[4], mem[8] = st.mem_w, st.mem_x
            else:
                mem[5] = st.mem_w + st.mem_x
        else:
            mem[0 + blackwell] = st.mem_w
            mem[2 + blackwell] = st.mem_x
        cols["low"].append(low)
        cols["blackwell"].append(blackwell)
        c = _text.text_coeffs(info.total_params_b, info.active_params_b, prec, g, n, b, kt,
                              info.shape)
        cols["model"].append(r["model_id"])
        cols["mem"].append(mem)
        cols["tc"].append(st.cmp0 + st.cmp1 * ctx)
        cols["n"].append(n)
        cols["b"].append(b)
        cols["out"].append(out)
        cols["idle"].append(g.idle_w * n / b)
        cols["dyn"].append((g.tdp_w - g.idle_w) * n / b)
        cols["prefill"].append(_text.prefill_j(c, n_in, 0.0))
        cols["energy"].append(float(r["energy_per_item_j"]))
        cols["itl"].append(float(r["median_itl_ms"]) / 1000.0)
        cols["ctx"].append(ctx)
        cols["for_time"].append(True)
    return {k: np.array(v) for k, v in cols.items()}


def fit_text(p: Mapping[str, Any], exclude: str | None = None) -> dict[str, float]:
    """The text constants of TEXT_FITTED, fitted to every prepared row but `exclude`'s."""
    keep = p["model"] != exclude
    mem, tc, n, b = p["mem"][keep], p["tc"][keep], p["n"][keep], p["b"][keep]
    over = np.stack([np.ones_like(n, dtype=float), n - 1.0, b], axis=1)
    timed = p["for_time"][keep]
    itl = p["itl"][keep]
    m = len(_MEM)
    # a column is fitted where it carries a fifth of some row's memory traffic; below that
    # (the attention weights of an FP8 MoE in the 8-bit dense column) it is not identified
    # and takes its reference's value
    share = mem / np.maximum(mem.sum(axis=1, keepdims=True), 1e-30)
    present = np.r_[(share > 0.2).any(axis=0), [True, True, True]]
    theta = np.r_[np.full(m, 1 / 0.8), [0.002, 0.002, 5e-5]]
    low, bw = p["low"][keep], p["blackwell"][keep]
    lowbit = (mem[:, 4] + mem[:, 5] + mem[:, 8]) > 0
    for _ in range(6):  # fixed point: the roofline max() and the low-bit columns
        # low-bit weights pay the expert and GPU-generation factors of bf16 weights too;
        # their own factor is what the 8-bit / 4-bit columns fit
        d0 = np.where(bw, theta[1] / theta[0], 1.0)
        d1 = np.where(bw, theta[3] / theta[2], 1.0)
        dense_part = low[:, 0] * d0
        expert_part = low[:, 1] * (theta[2] / theta[0]) * d1
        eight = p["mem"][keep][:, 4] + p["mem"][keep][:, 8] > 0
        mem = mem.copy()
        mem[:, 4] = np.where(lowbit & eight, dense_part, 0.0)
        mem[:, 8] = np.where(lowbit & eight, expert_part, 0.0)
        mem[:, 5] = np.where(lowbit & (p["mem"][keep][:, 5] > 0), dense_part + expert_part,
                             0.0)
        tm = mem @ theta[:m]
        cb = tc > tm
        a = np.concatenate([mem * ~cb[:, None], over], axis=1)[timed][:, present]
        x = _nnls(a, (itl - tc * cb)[timed], 1.0 / itl[timed])
        theta = np.zeros(m + 3)
        theta[present] = x
        # a column without rows (or fitted to 0) takes its reference's value
        for j, ref in ((1, 0), (2, 0), (3, 2), (4, 0), (5, 0), (6, 0), (7, 6), (8, 4)):
            if theta[j] <= 0:
                theta[j] = theta[ref] * (theta[1] / theta[0] if j == 3 else 1.0)
    tm = mem @ theta[:m]
    over_t = over * theta[m:]
    t = np.maximum(tm, tc) + over_t.sum(axis=1)
    out, idle, dyn, e = p["out"][keep], p["idle"][keep], p["dyn"][keep], p["energy"][keep]
    pre = p["prefill"][keep]
    y = e - out * idle * t - out * dyn * tc
    # block-scaled 8-bit expert reads keep the SMs busier than a plain stream (dequantising
    # every block): their own extra utilisation
    tm_x8 = mem[:, 8] * theta[8]
    a = np.concatenate([pre[:, None], (out * dyn)[:, None] * np.concatenate(
        [tm[:, None], over_t, tm_x8[:, None]], axis=1)], axis=1)
    u = _nnls(a, y, 1.0 / e)
    mfu_prefill = min(0.8, constants("text")["mfu_prefill"] / u[0]) if u[0] > 0 else 0.8
    w = np.clip(u[1:], 0.0, 1.0)
    eff = 1.0 / theta[0]
    return {"bw_eff": float(eff), "expert_factor": float(theta[2] * eff),
            "kv_factor": float(theta[6] * eff), "weight_factor_8bit": float(theta[4] * eff),
            "weight_factor_8bit_expert": float(theta[8] * eff),
            "weight_factor_4bit": float(theta[5] * eff),
            "b200_decode_dense": float(theta[1] / theta[0]),
            "b200_decode_expert": float(theta[3] / theta[2]),
            "b200_decode_kv": float(theta[7] / theta[6]), "step_s": float(theta[m]),
            "step_tp_s": float(theta[m + 1]), "step_seq_s": float(theta[m + 2]),
            "mfu_prefill": float(mfu_prefill), "w_mem": float(w[0]), "u_fix": float(w[1]),
            "u_tp": float(w[2]), "u_seq": float(w[3]), "u_8bit_expert": float(w[4])}


# ---------------------------------------------------------------------------- diffusion
def prepare_diffusion(rows: list[dict[str, str]]) -> dict[str, Any]:
    """Per-row FLOPs, widths and power of the image and video rows."""
    kd = constants("diffusion")
    cols: dict[str, list[Any]] = {k: [] for k in (
        "model", "flops", "attn", "width", "linear", "peak", "b200", "idle", "dyn", "n", "b",
        "steps", "energy", "latency", "blocks", "sync", "ring")}
    for r in rows:
        info = lookup(r["model_id"])
        if info is None:
            raise ValueError(f"{r['model_id']}: not in the registry")
        kind = "video" if r["task"] == "text-to-video" else "image"
        fam = _diffusion.geometry(_diffusion.family(info.family, kind), info.shape)
        params = info.active_params_b
        steps = float(r["steps"])
        size = (float(r["width"]), float(r["height"]), float(r["num_frames"] or 1), steps, 1.0)
        lin, att = _diffusion.unit_coeffs(fam, params, kd, info.shape)
        flops = _diffusion.diffusion_j(lin, *size)
        attn = _diffusion.diffusion_j(att, *size)
        g = _hardware.gpu(r["gpu"])
        prec = _hardware.precision(info.precision)
        cols["model"].append(r["model_id"])
        cols["flops"].append(flops)
        cols["attn"].append(attn)
        cols["width"].append(_diffusion.width_of(fam, params, info.shape))
        cols["linear"].append(kd["linear_attention_mfu"] if fam.linear_attention else 1.0)
        cols["peak"].append(g.tflops.get(prec.compute, g.tflops["bf16"]) * 1e12)
        cols["b200"].append(g.key == "B200")
        cols["idle"].append(g.idle_w)
        cols["dyn"].append(g.tdp_w - g.idle_w)
        cols["n"].append(float(r["num_gpus"]))
        cols["b"].append(float(r["batch_size"]))
        cols["steps"].append(steps)
        cols["energy"].append(float(r["energy_per_item_j"]))
        cols["latency"].append(float(r["latency_s"]))
        blocks, sync, ring = _diffusion.sync_counts(fam, params, int(r["num_gpus"]), info.shape)
        cols["blocks"].append(blocks)
        cols["sync"].append(sync)
        cols["ring"].append(ring)
    return {k: np.array(v) for k, v in cols.items()}


def _fit_diffusion_at(p: Mapping[str, Any], keep: Any, beta: float, eff: float,
                      busy_util: float) -> tuple[float, dict[str, float]]:
    """Loss and constants with the mfu width exponent and B200 efficiency held fixed."""
    n, b, steps = p["n"][keep], p["b"][keep], p["steps"][keep]
    peak = p["peak"][keep] * np.where(p["b200"][keep], eff, 1.0)
    rel = (p["width"][keep] / 3072.0) ** beta * p["linear"][keep]
    ga = p["attn"][keep] / peak
    log2n = np.log2(n)
    lat, e = p["latency"][keep], p["energy"][keep]
    sync, ring = p["sync"][keep], p["ring"][keep]
    cap = constants("diffusion")["mfu_max"]
    inv_m0 = 1.0 / 0.5
    for _ in range(4):  # mfu = min(mfu_ref x rel, mfu_max): settle which rows are capped
        g = p["flops"][keep] / (peak * np.minimum(rel, cap * inv_m0))
        # seconds: linear FLOPs / mfu and attention FLOPs / attn_mfu, each with its
        # communication share per GPU doubling, then the per-step time
        a = np.stack([b * g / n, b * ga / n, b * g * log2n / n, b * ga * log2n / n,
                      steps, steps * sync, steps * ring], axis=1)
        x = _nnls(a, lat, 1.0 / lat)
        if x[0] <= 0 or x[1] <= 0:
            return math.inf, {}
        inv_m0 = x[0]
    idle, dyn = p["idle"][keep], p["dyn"][keep]
    t_fix = steps * x[4] * n / b
    t_sync = steps * (x[5] * sync + x[6] * ring) * n / b
    busy = (a[:, :4] @ x[:4]) * n / b * (idle + busy_util * dyn)
    col = np.stack([t_fix * dyn, t_sync * dyn], axis=1)
    u = np.clip(_nnls(col, e - busy - (t_fix + t_sync) * idle, 1.0 / e), 0.0, 1.0)
    ou, su = float(u[0]), float(u[1])
    pred = busy + t_fix * (idle + ou * dyn) + t_sync * (idle + su * dyn)
    loss = float(np.mean(np.log(pred / e) ** 2) + 0.3 * np.mean(np.log(a @ x / lat) ** 2))
    return loss, {"mfu_ref": float(1.0 / x[0]), "mfu_width_exp": beta,
                  "attn_mfu": float(1.0 / x[1]), "comm": float(x[2] / x[0]),
                  "comm_attn": float(x[3] / x[1]), "step_s": float(x[4]),
                  "sync_s": float(x[5]), "ring_s": float(x[6]), "overhead_util": ou,
                  "sync_util": su, "b200_compute_eff": eff}


def fit_diffusion(p: Mapping[str, Any], exclude: str | None = None) -> dict[str, float]:
    """The diffusion constants of DIFFUSION_FITTED, fitted to every row but `exclude`'s."""
    keep = p["model"] != exclude
    busy_util = constants("diffusion")["busy_util"]
    best: tuple[float, dict[str, float]] = (math.inf, {})
    betas, effs = np.arange(0.0, 1.51, 0.1), np.arange(0.40, 1.001, 0.04)
    for step_b, step_e in ((0.1, 0.04), (0.025, 0.01)):  # coarse grid, then around the best
        for beta in betas:
            for eff in effs:
                got = _fit_diffusion_at(p, keep, float(beta), float(eff), busy_util)
                if got[0] < best[0]:
                    best = got
        b0, e0 = best[1]["mfu_width_exp"], best[1]["b200_compute_eff"]
        betas = np.clip(np.arange(b0 - step_b, b0 + step_b + 1e-9, step_b / 4), 0.0, 2.0)
        effs = np.clip(np.arange(e0 - step_e, e0 + step_e + 1e-9, step_e / 4), 0.3, 1.0)
    return best[1]


# ---------------------------------------------------------------------------- applying
@contextlib.contextmanager
def applied(text: Mapping[str, float] | None = None,
            diffusion: Mapping[str, float] | None = None) -> Iterator[None]:
    """Run `wattmeter.estimate()` with fitted constants in place of the data files' values."""
    kt, kd = constants("text"), constants("diffusion")
    saved_t, saved_d = dict(kt), dict(kd)
    gpus = _hardware._load()["gpus"]
    saved_b200 = gpus["B200"]
    try:
        text = dict(text or {})
        if "b200_decode_dense" in text:
            gpus["B200"] = gpus["B200"]._replace(decode=(
                text.pop("b200_decode_dense"), text.pop("b200_decode_expert"),
                text.pop("b200_decode_kv")))
        kt.update(text)
        for key, value in (diffusion or {}).items():
            if key == "b200_compute_eff":
                gpus["B200"] = gpus["B200"]._replace(compute_eff=value)
            else:
                kd[key] = value
        _api.clear_cache()
        yield
    finally:
        kt.clear()
        kt.update(saved_t)
        kd.clear()
        kd.update(saved_d)
        gpus["B200"] = saved_b200
        _api.clear_cache()


def main(argv: list[str] | None = None) -> int:
    """Run the fits and print the constants."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from accuracy import DEFAULT_REFERENCE, kind_of, load_rows

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    ap.add_argument("--without", default=None, help="leave this model's rows out")
    args = ap.parse_args(argv)
    rows = load_rows(args.reference)
    text = fit_text(prepare_text([r for r in rows if kind_of(r) == "llm"]), args.without)
    diff = fit_diffusion(prepare_diffusion([r for r in rows if kind_of(r) != "llm"]),
                         args.without)
    print("text:", {k: float(f"{v:.4g}") for k, v in text.items()})
    print("diffusion:", {k: float(f"{v:.4g}") for k, v in diff.items()})
    _physics.constants("text")  # loaded: the printed values are to be copied by hand
    return 0


if __name__ == "__main__":
    sys.exit(main())
