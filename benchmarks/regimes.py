"""The provider-fleet physics against production-serving throughput (InferenceMAX).

Usage: python benchmarks/regimes.py [--rows]

For each row of benchmarks/reference/inferencemax.csv (DeepSeek R1 served at a stated
interactivity, tokens/s per user) the provider regime's replica and batch choice
(`_regime.provider_text`, the code path of every provider-served estimate) predicts the
token throughput per GPU. The serving stack's two per-step times (step_s, step_tp_s in
regimes.json) are fitted here; the figures are leave-one-configuration-out: each
(accelerator, sequence lengths) configuration is predicted with the times fitted to the
others. Prefill runs on any GPU at the text physics' prefill cost; no speculation, no
prefix cache (the benchmark's random prompts).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from wattmeter.estimate import _regime  # noqa: E402
from wattmeter.estimate._hardware import gpu, precision  # noqa: E402
from wattmeter.estimate._physics import constants  # noqa: E402
from wattmeter.estimate._registry import lookup  # noqa: E402

REFERENCE = Path(__file__).with_name("reference") / "inferencemax.csv"
STEP_S = [0.0005 * 1.25 ** i for i in range(16)]
STEP_TP_S = [0.0, 0.0001, 0.0002, 0.0004]
#: Configurations the physics does not describe: their serving software reaches a small
#: share of what the hardware allows (no software-maturity term); shown, not fitted.
OUT_OF_SCOPE = ("MI300X", "H100")


def load(path: Path = REFERENCE) -> list[dict[str, str]]:
    """The reference rows (comment lines skipped)."""
    with path.open(newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def predict(row: dict[str, str], step_s: float, step_tp_s: float) -> tuple[float, Any]:
    """Predicted token throughput per GPU (input + output) and the chosen coefficients."""
    info = lookup(row["model"])
    assert info is not None, row["model"]
    kt = {**_regime.fleet_constants(constants("text")), "step_s": step_s,
          "step_tp_s": step_tp_s}
    rp = _regime.provider_regime("_bench")._replace(
        max_gpus=64, disaggregated=True, prefill_share=0.0, draft_cost=0.0)
    g = gpu(row["gpu"])
    prec = precision(row["precision"])
    isl, osl = float(row["isl"]), float(row["osl"])
    c = _regime.provider_text(info.total_params_b, info.active_params_b, prec, g, kt,
                              info.shape or {}, rp, float(row["interactivity_tps"]), 0.0, 0.0,
                              ctx=isl + 0.5 * osl)
    ctx = isl + 0.5 * osl
    tm = c.mem0 + c.mem1 * ctx
    tc = c.cmp0 + c.cmp1 * ctx
    t = max(tm, tc) + c.t0
    busy_w = g.idle_w + kt["prefill_util"] * (g.tdp_w - g.idle_w)
    prefill_j = isl * (c.pre_j_tok + c.pre_j_pair * 0.5 * isl)
    gpu_s = osl * c.gpus * t / c.batch + prefill_j / busy_w
    return (isl + osl) / gpu_s, c


def _loss(rows: list[dict[str, str]], s: float, tp: float) -> float:
    return sum(math.log(predict(r, s, tp)[0] / float(r["tok_s_gpu"])) ** 2 for r in rows)


def fit(rows: list[dict[str, str]]) -> tuple[float, float]:
    """The (step_s, step_tp_s) of the grid with the least squared log error on `rows`."""
    return min(itertools.product(STEP_S, STEP_TP_S), key=lambda p: _loss(rows, *p))


def config(row: dict[str, str]) -> str:
    return f"{row['gpu']} {row['isl']}/{row['osl']}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", action="store_true", help="print every row")
    args = ap.parse_args(argv)
    rows = load()
    fitted = [r for r in rows if r["gpu"] not in OUT_OF_SCOPE]
    s_all, tp_all = fit(fitted)
    print(f"fitted to the {len(fitted)} in-scope rows: step_s {s_all * 1e3:.3f} ms, step_tp_s "
          f"{tp_all * 1e3:.3f} ms (regimes.json provider_common)")
    ratios, shown = [], []
    for cfg in sorted({config(r) for r in rows}):
        train = [r for r in fitted if config(r) != cfg]
        s, tp = fit(train)
        for r in (r for r in rows if config(r) == cfg):
            p, c = predict(r, s, tp)
            ratio = p / float(r["tok_s_gpu"])
            (shown if r["gpu"] in OUT_OF_SCOPE else ratios).append(ratio)
            if args.rows:
                print(f"  {r['id']:14} {cfg:16} at {r['interactivity_tps']:>4} tok/s/user: "
                      f"measured {float(r['tok_s_gpu']):7.0f}, predicted {p:7.0f} tok/s/GPU "
                      f"(x{ratio:.2f}; {c.gpus} GPUs, batch {c.batch:.0f}; fit "
                      f"{s * 1e3:.2f}/{tp * 1e3:.2f} ms)")
    far = [max(x, 1 / x) for x in ratios]
    bias = math.exp(statistics.fmean(map(math.log, ratios)))
    print(f"leave-one-configuration-out, {len(ratios)} in-scope rows: median "
          f"x{statistics.median(far):.2f} off, geometric-mean bias x{bias:.2f},"
          f" within x2 {100 * sum(f <= 2 for f in far) / len(far):.0f}%, within x3 "
          f"{100 * sum(f <= 3 for f in far) / len(far):.0f}%")
    if shown:
        print(f"out of scope ({', '.join(OUT_OF_SCOPE)}; not fitted), {len(shown)} rows: "
              f"predicted/measured x{min(shown):.1f} to x{max(shown):.1f}: their 2025 stacks "
              "reach a small share of the roofline (H100 needs two nodes for DeepSeek R1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
