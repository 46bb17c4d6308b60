"""Speed of ``wattmeter report --html`` and ``--export csrd`` on a 100,000-row ledger.

Usage: python benchmarks/report_speed.py [--rows 100000] [--runs 5]

Writes a ledger of N per-minute rows (20 teams, 12 models of 5 providers, 30 days),
then runs the command in fresh processes, as a user would (interpreter start, imports,
matplotlib included). Prints CPU time (user + system of the child; the machine is shared,
so wall time would measure the neighbours) and wall time, median of the runs, and the
in-process split: reading and summing the ledger, the "what could change" estimates, the
charts and page. Target (issue 21): <= 2 s for 100,000 rows.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

MODELS = (("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("openai", "o3"),
          ("anthropic", "claude-sonnet-4-5"), ("anthropic", "claude-haiku-4-5"),
          ("google", "gemini-2.5-flash"), ("google", "gemini-2.5-pro"),
          ("bedrock", "nova-lite"), ("bedrock", "claude-3-5-haiku"),
          ("mistral", "mistral-large-2407"), ("mistral", "mistral-small-latest"),
          ("openai", "gpt-4.1"))


def build(path: Path, rows: int, seed: int = 1) -> None:
    """A ledger of `rows` distinct (minute, team, model) rows priced by estimate()."""
    import wattmeter
    from wattmeter._version import METHOD_VERSION
    from wattmeter.budget import Ledger

    rnd = random.Random(seed)
    prices = {}
    for provider, model in MODELS:
        prices[(provider, model)] = wattmeter.estimate(model, provider, input_tokens=800,
                                                       output_tokens=250)
    ledger = Ledger(path)
    start = int(time.time() // 60 * 60) - 30 * 86400
    teams = [f"team-{i:02d}" for i in range(20)]
    minute = 0
    for i in range(rows):
        if i % 50 == 0:
            minute += rnd.randint(1, 12)
        provider, model = MODELS[i % len(MODELS)]
        fp = prices[(provider, model)]
        n = rnd.randint(1, 20)
        ledger.add((start + minute * 60 % (30 * 86400), teams[(i // len(MODELS)) % 20],
                    provider, model, "chat", {}, fp.energy_wh * n, fp.co2e_g * n,
                    fp.accelerator_wh * n, n, 800 * n, 250 * n, fp.co2e_g_low * n,
                    fp.co2e_g_high * n, fp.co2e_embodied_g * n, fp.co2e_embodied_g_low * n,
                    fp.co2e_embodied_g_high * n, fp.water_ml * n, fp.water_ml_low * n,
                    fp.water_ml_high * n, fp.adpe_kgsbeq * n, fp.grid_zone, METHOD_VERSION))
        if i % 20000 == 19999:
            ledger.flush()
    ledger.flush()
    ledger.close()


def fresh(args: list[str]) -> tuple[float, float]:
    """(CPU s, wall s) of one `python -m wattmeter ...` child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "wattmeter", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall)


def split(path: Path) -> dict[str, float]:
    """CPU seconds of each stage, in this process (imports already warm)."""
    from zoneinfo import ZoneInfo

    from wattmeter import report
    from wattmeter.report._html import render

    tz = ZoneInfo("UTC")
    t0 = time.process_time()
    data = report.load(str(path), None, None, tz)
    t1 = time.process_time()
    found = report.changes(data)
    t2 = time.process_time()
    render(data, tz, team=None, statuses=[], changes=found, ledger=str(path))
    t3 = time.process_time()
    report.export_csv(data, tz)
    t4 = time.process_time()
    return {"load": t1 - t0, "changes": t2 - t1, "charts+page": t3 - t2, "export": t4 - t3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.sqlite3"
        build(path, args.rows)
        import sqlite3

        n = sqlite3.connect(path).execute("select count(*) from usage").fetchone()[0]
        print(f"ledger: {n:,} rows, {path.stat().st_size / 1e6:.1f} MB")
        out = str(Path(tmp) / "r.html")
        for label, cmd in (("report --html", ["report", "--ledger", str(path), "--html", out]),
                           ("report --export csrd", ["report", "--ledger", str(path),
                                                     "--export", "csrd"])):
            runs = [fresh(cmd) for _ in range(args.runs)]
            cpu = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            print(f"{label:22s} fresh process: CPU {cpu:.2f} s, wall {wall:.2f} s "
                  f"(median of {args.runs})")
        print(f"HTML size: {Path(out).stat().st_size / 1024:.0f} KiB")
        split(path)  # warm imports and caches
        stages = split(path)
        print("in-process CPU s: " + ", ".join(f"{k} {v:.3f}" for k, v in stages.items()))


if __name__ == "__main__":
    main()
