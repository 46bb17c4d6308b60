"""The provider-fleet physics against MLPerf Inference datacenter LLM results (and Power).

Usage: python benchmarks/mlperf.py [--rows]

For each row of benchmarks/reference/mlperf.csv (an MLPerf Inference v4.1/v5.1 closed
result: one system, one LLM benchmark, one scenario) the provider regime's replica and
batch choice (`_regime.provider_text`, the code path of every provider-served estimate)
predicts the output tokens per second per GPU: Server and Interactive at the scenario's
TPOT limit as the interactivity target (1000 / TPOT ms tokens/s per user), Offline with
no interactivity limit (the largest batch memory and the scheduler allow). Where the row
has MLPerf Power's system watts it also predicts joules per output token at the server
boundary (accelerators plus the fleet's host ratio, no idle reserve: the benchmark runs
at full load). Nothing is fitted here: the step times in regimes.json were fitted to
InferenceMAX (benchmarks/regimes.py), so these rows are an independent check.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from wattmeter.estimate import _regime, _text  # noqa: E402
from wattmeter.estimate._hardware import gpu, precision  # noqa: E402
from wattmeter.estimate._physics import constants  # noqa: E402
from wattmeter.estimate._registry import lookup  # noqa: E402

__all__ = ["REFERENCE", "load_rows", "main", "predict", "summarise"]

REFERENCE = Path(__file__).with_name("reference") / "mlperf.csv"
#: Per-user speed standing for "no interactivity limit" (Offline): a step budget of
#: 1,000 s, so memory and the scheduler's batch bound decide the batch.
OFFLINE_TPS = 1e-3


def load_rows(path: Path = REFERENCE) -> list[dict[str, str]]:
    """The MLPerf reference rows (comment lines skipped)."""
    with path.open(newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def predict(row: dict[str, str], isl_scale: float = 1.0) -> tuple[float, float, Any]:
    """(output tokens/s per GPU, server J per output token, chosen coefficients) of the
    provider regime for one row; `isl_scale` multiplies the assumed input length."""
    info = lookup(row["model"])
    assert info is not None, row["model"]
    kt = _regime.fleet_constants(constants("text"))
    # the system's GPUs bound the replica; prefill runs beside decode at its own cost
    rp = _regime.provider_regime("_bench")._replace(
        max_gpus=int(row["gpus"]), disaggregated=True, prefill_share=0.0, draft_cost=0.0)
    g = gpu(row["gpu"])
    prec = precision(row["precision"])
    isl, osl = float(row["isl"]) * isl_scale, float(row["osl"])
    speed = 1000.0 / float(row["tpot_ms"]) if row["tpot_ms"] else OFFLINE_TPS
    ctx = isl + 0.5 * osl
    c = _regime.provider_text(info.total_params_b, info.active_params_b, prec, g, kt,
                              info.shape or {}, rp, speed, 0.0, 0.0, ctx=ctx)
    tm = c.mem0 + c.mem1 * ctx
    tc = c.cmp0 + c.cmp1 * ctx
    t = max(tm, tc) + c.t0
    busy_w = g.idle_w + kt["prefill_util"] * (g.tdp_w - g.idle_w)
    prefill_j = _text.prefill_j(c, isl, 0.0)
    gpu_s = osl * c.gpus * t / c.batch + prefill_j / busy_w
    acc_j = prefill_j + _text.decode_j(c, isl, osl)
    server_j = acc_j * (1.0 + _regime.common("host_ratio")[0]) / osl
    return osl / gpu_s, server_j, c


def _stats(ratios: list[float]) -> str:
    far = [max(x, 1 / x) for x in ratios]
    bias = math.exp(statistics.fmean(map(math.log, ratios)))
    return (f"median x{statistics.median(far):.2f} off, geometric-mean bias x{bias:.2f}, "
            f"within x2 {100 * sum(f <= 2 for f in far) / len(far):.0f}%, within x3 "
            f"{100 * sum(f <= 3 for f in far) / len(far):.0f}%")


def summarise(rows: list[dict[str, str]], isl_scale: float = 1.0) -> dict[str, list[float]]:
    """Predicted/measured ratios: 'tps' (tokens/s per GPU, every row), 'j' (J per output
    token, the rows with MLPerf Power), and 'tps:<GPU>' per accelerator."""
    out: dict[str, list[float]] = {"tps": [], "j": []}
    for r in rows:
        p, j, _ = predict(r, isl_scale)
        ratio = p / float(r["tok_s_gpu"])
        out["tps"].append(ratio)
        out.setdefault(f"tps:{r['gpu']}", []).append(ratio)
        if r["system_w"]:
            out["j"].append(j / (float(r["system_w"]) / float(r["tok_s"])))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", action="store_true", help="print every row")
    args = ap.parse_args(argv)
    rows = load_rows()
    if args.rows:
        for r in rows:
            p, j, c = predict(r)
            meas = float(r["tok_s_gpu"])
            speed = f"{1000 / float(r['tpot_ms']):4.1f}" if r["tpot_ms"] else " off"
            line = (f"  {r['id']:24} {speed} tok/s/user: measured {meas:8.1f}, predicted "
                    f"{p:8.1f} out tok/s/GPU (x{p / meas:.2f}; {c.gpus} GPUs, batch "
                    f"{c.batch:.0f})")
            if r["system_w"]:
                mj = float(r["system_w"]) / float(r["tok_s"])
                line += f"; J/token measured {mj:.3f}, predicted {j:.3f} (x{j / mj:.2f})"
            print(line)
    s = summarise(rows)
    print(f"MLPerf Inference, {len(rows)} rows, nothing fitted (regimes.json as is)")
    print(f"  output tokens/s per GPU: {_stats(s['tps'])}")
    for key in sorted(k for k in s if k.startswith("tps:")):
        print(f"    {key[4:]:7} {len(s[key]):2} rows: {_stats(s[key])}")
    if s["j"]:
        print(f"  J per output token, {len(s['j'])} rows with MLPerf Power (server "
              f"boundary): {_stats(s['j'])}")
    for scale in (0.5, 2.0):
        t = summarise(rows, scale)
        print(f"  assumed input lengths x{scale:g}: tokens/s {_stats(t['tps'])}; J/token "
              f"{_stats(t['j'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
