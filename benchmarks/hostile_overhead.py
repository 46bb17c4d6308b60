"""What the hostile-input rules of issue 23 cost per call, for the tree on PYTHONPATH.

Prints CPU time per call (fastest of several rounds) of `footprint_for()` for a successful
and a refused chat call, and of the budget manager's `record()` with one label whose value
is kept, then with a flood of distinct values past the ledger's label bound. Run it on two
trees alternately (``PYTHONPATH=OLD/src python benchmarks/hostile_overhead.py``) to compare;
figures are in docs/benchmarks.md.
"""

from __future__ import annotations

import tempfile
import time
import timeit
from collections.abc import Callable, Sequence
from typing import Any


def best_us(fn: Callable[[Any], None], items: Sequence[Any], rounds: int = 5,
            between: Callable[[], Any] | None = None) -> float:
    """Fastest round's CPU time per item, in microseconds (`between` runs after each)."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.process_time()
        for item in items:
            fn(item)
        best = min(best, (time.process_time() - t0) / len(items))
        if between is not None:
            between()
    return best * 1e6


def main() -> int:
    from wattmeter import Usage
    from wattmeter._footprint import Footprint
    from wattmeter.budget import BudgetManager
    from wattmeter.estimate import footprint_for

    ok = Usage("openai", "gpt-4o-2024-08-06", "chat", input_tokens=1200, output_tokens=400)
    refused = Usage("openai", "gpt-4o-2024-08-06", "chat", input_tokens=1200,
                    outcome="error")

    def meter(usage: Usage) -> None:
        footprint_for(usage, team="t", labels={}, timestamp=0.0)

    meter(ok)
    print(f"footprint_for, successful chat call: {best_us(meter, [ok] * 20_000, 7):.2f} us")
    print(f"footprint_for, refused chat call: {best_us(meter, [refused] * 20_000, 7):.2f} us")

    noon = 1_780_000_000.0 // 86_400 * 86_400 + 43_200
    mgr = BudgetManager(None, clock=lambda: noon, background=False, budgets=[],
                        ledger_path=tempfile.mkdtemp() + "/ledger.sqlite3", prometheus=False)

    def fp(user: str) -> Footprint:
        return Footprint("openai", "gpt-4o", "chat", "search", {"litellm_end_user": user},
                         10, 10, 0, 0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 0.4, 0.4,
                         0.4, "WORLD", 400.0, 1.2)

    def record(f: Footprint) -> None:
        mgr.record(f)

    same = [fp("u1")] * 20_000
    flood = [fp(f"user-{i}") for i in range(20_000)]
    take = mgr.ledger.take  # the queue emptied between rounds, as the writer thread would
    print(f"BudgetManager.record, one kept label value: "
          f"{best_us(record, same, between=take):.2f} us")
    print(f"BudgetManager.record, 20,000 distinct values: "
          f"{best_us(record, flood, between=take):.2f} us")
    base = timeit.timeit("x * y + z", setup="x = 1.5; y = 2.5; z = 3.0", number=1_000_000)
    print(f"machine load check: 'x * y + z' takes {base * 1000:.0f} ns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
