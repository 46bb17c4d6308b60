"""Speed of the model registry: its lazy load, an uncached and a cached name lookup, and the
first ``estimate()`` of a name in a fresh process.

Usage: python benchmarks/registry_speed.py

The load happens once, on the first lookup of the process (``import wattmeter`` does not
read the data files); every later call of a name pays a dictionary lookup. CPU time, median
of fresh processes (the machine is shared; wall time would measure the neighbours).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

#: Name shapes a metered call carries: Bedrock cross-region, a dated OpenAI id, a Bedrock
#: path with region and commitment, a moving name, and an unknown one (guessed).
NAMES = ("us.anthropic.claude-sonnet-5-5-v1:0", "gpt-5.4-nano-2026-03-17",
         "bedrock/us-east-1/1-month-commitment/anthropic.claude-v2:1", "gemini-flash-latest",
         "totally-unknown-model-x")

_FRESH = """
import sys, time
t0 = time.process_time()
import wattmeter
t1 = time.process_time()
from wattmeter.estimate._registry import lookup
lookup("gpt-4o")
t2 = time.process_time()
wattmeter.estimate("claude-opus-4-8", input_tokens=500, output_tokens=400)
t3 = time.process_time()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def fresh_process_ms(repeats: int = 7) -> tuple[float, float, float]:
    """Medians (ms CPU) of: import wattmeter; the first lookup (loads the registry); then the
    first estimate() of a new name (its coefficients), each in a fresh interpreter."""
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", _FRESH], capture_output=True, text=True,
                             check=True, env={"PYTHONPATH": str(ROOT / "src")}).stdout
        runs.append([float(x) * 1e3 for x in out.split()])
    return tuple(statistics.median(r[i] for r in runs) for i in range(3))  # type: ignore[return-value]


def lookup_us(name: str, cached: bool, calls: int = 20_000) -> float:
    """CPU time of one lookup of `name` in microseconds (fastest of 5 loops of `calls`),
    with or without the cache (without: the cache is emptied before each lookup)."""
    from wattmeter.estimate import _registry

    lookup, clear = _registry.lookup, _registry._clear_cache
    lookup(name)
    runs = []
    for _ in range(5):
        t0 = time.process_time()
        if cached:
            for _ in range(calls):
                lookup(name)
        else:
            for _ in range(calls // 20):
                clear()
                lookup(name)
        runs.append((time.process_time() - t0) / (calls if cached else calls // 20))
    return min(runs) * 1e6


def main() -> None:
    from wattmeter.estimate._registry import all_models, dated_aliases

    imp, load, first = fresh_process_ms()
    print(f"registry: {len(all_models())} models, {len(dated_aliases())} moving names")
    print(f"import wattmeter: {imp:.1f} ms; first lookup (loads the registry): {load:.1f} ms; "
          f"then first estimate() of a new name: {first:.1f} ms (CPU, median of 7 processes)")
    for name in NAMES:
        print(f"lookup {name!r}: uncached {lookup_us(name, False):.1f} us, "
              f"cached {lookup_us(name, True) * 1000:.0f} ns")
    load_s = time.process_time()
    for _ in range(200_000):
        pass
    loop_ns = (time.process_time() - load_s) / 200_000 * 1e9
    print(f"machine load check: an empty loop iteration takes {loop_ns:.0f} ns "
          "(about 10 ns on an idle core; figures above scale with it)")


if __name__ == "__main__":
    main()
