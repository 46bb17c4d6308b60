"""Speed of names the estimator has not seen: first sight, churn, and name parsing.

Usage: python benchmarks/name_speed.py

Issue 23 item 4 and issue 18: first sight of 200 names near a known model
(``gpt-4o-mini-<i>``; target median < 1 ms), 50,000 distinct names round-robin through
``footprint_for`` (past the 16,384-entry coefficient cache; target < 40 us per call), and what
reading facts from a name adds to a registered name (cached: nothing; first sight: the parse).
CPU time, so neighbours on the shared cores count less; the fastest of a few runs.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from estimate_speed import per_call_us  # noqa: E402


def first_sight_us(est, names: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    """CPU time of the first `estimate()` of each name, in microseconds."""
    out = []
    for name in names:
        t0 = time.process_time_ns()
        est(name, input_tokens=200, output_tokens=50)
        out.append((time.process_time_ns() - t0) / 1000.0)
    return out


def main() -> int:
    """Print the figures."""
    import wattmeter
    from wattmeter import Usage
    from wattmeter.estimate import footprint_for
    from wattmeter.estimate._resolve import resolve

    est = wattmeter.estimate
    est("gpt-4o-mini", input_tokens=200, output_tokens=50)  # the known model built once
    near = first_sight_us(est, [f"gpt-4o-mini-{i}" for i in range(200)])
    print(f"first sight of 200 names near a known model (gpt-4o-mini-<i>): median "
          f"{statistics.median(near):.0f} us, p95 {sorted(near)[189]:.0f} us (target < 1 ms)")
    fp8 = first_sight_us(est, [f"Qwen/Qwen3-32B-FP8-ft{i}" for i in range(200)])
    print(f"first sight of 200 FP8 names of a registered model (Qwen/Qwen3-32B-FP8-ft<i>): "
          f"median {statistics.median(fp8):.0f} us (after the first, which builds FP8)")
    usages = [Usage("openai", f"gpt-4o-mini-{i}", "chat", input_tokens=200, output_tokens=50)
              for i in range(50_000)]
    state = {"i": 0}

    def churn() -> None:
        i = state["i"] = (state["i"] + 1) % len(usages)
        footprint_for(usages[i], team="t", labels={}, timestamp=0.0)

    print(f"footprint_for, 50,000 distinct names near gpt-4o-mini, round-robin: "
          f"{per_call_us(churn, calls=100_000, repeats=3):.1f} us per call (target < 40 us)")
    usage = Usage("openai", "gpt-4o", "chat", input_tokens=1200, output_tokens=400)
    fp8_usage = Usage("self-hosted", "Qwen/Qwen3-32B-FP8", "chat", input_tokens=1200,
                      output_tokens=400)
    print(f"footprint_for, a registered name (cached): gpt-4o "
          f"{per_call_us(lambda: footprint_for(usage, team='t', labels={})):.2f} us, "
          "a name with facts (Qwen/Qwen3-32B-FP8) "
          f"{per_call_us(lambda: footprint_for(fp8_usage, team='t', labels={})):.2f} us")
    plain = per_call_us(lambda: resolve("gpt-4o", None, "chat"))
    facts = per_call_us(lambda: resolve("Qwen/Qwen3-32B-FP8", None, "chat"))
    print(f"resolve() (what a coefficient-cache miss pays; registry lookup cached): gpt-4o "
          f"{plain:.2f} us, Qwen/Qwen3-32B-FP8 {facts:.2f} us")
    import timeit

    base = timeit.timeit("x * y + z", setup="x = 1.5; y = 2.5; z = 3.0", number=1_000_000)
    print(f"machine load check: 'x * y + z' takes {base * 1000:.0f} ns (about 20 ns on an idle "
          "core; figures above scale with it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
