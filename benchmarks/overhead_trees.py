"""Two versions of wattmeter's caller path, in situ, in one process: what a change to it saves.

`overhead.py` times each instrumentation in its own process. Between processes the added
µs per call of the same code moves by ±4 µs on a 2-core VM (memory layout, caches), as
much as a change to the caller's path saves, so two trees timed apart can't be told apart.
Here one process holds both: this tree's ``wattmeter`` and an older revision's package,
copied from git under another name. Each wraps the real openai client's
``chat.completions.create`` with its own core (``wrapper_for`` and its ``Chat`` endpoint,
in its own ``wrapt.FunctionWrapper``); a pass-through wrapper (``wrapt`` and one Python
frame: the least any wrapper costs), the least a meter can do (the model, the client, the
response's two counts and the time appended to a deque) and the bare method are timed
too. Every round calls the five in every order in turn, timed on the thread's CPU clock;
each callable's trimmed mean (10-90%) minus the bare call's gives the added µs, and so
does the mean of its lower half (5-50%): in one 10-run test, the difference between two
callables varied half as much across runs on it (standard deviation 1.7 against 3.1 µs).
Prometheus is off in both (its work is on the background thread, not the caller's); every
100 rounds, untimed, both trees' queues are flushed (the loop never waits on I/O, so their
threads would rarely get the GIL: see `overhead_parts.paired`). Each
run is its own process; the summary is the median over runs and how many runs had this
tree cheaper.

    python benchmarks/overhead_trees.py --old 175f82f [--runs 8] [--calls 1500] [--spans]
"""

from __future__ import annotations

import argparse
import importlib
import io
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OLD = "wattmeter_old"


def _old_package(rev: str, into: Path) -> None:
    """Extract `rev`'s ``src/wattmeter`` as the package `OLD` under `into` (it imports itself
    relatively, so the copy and this tree's package don't mix)."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src/wattmeter"],
                         check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")
    (into / "src" / "wattmeter").rename(into / OLD)


def _wrapped(pkg: str, resource: Any, fn: Any) -> Any:
    import openai
    import wrapt

    core = importlib.import_module(pkg + ".instrument._core")
    chat = importlib.import_module(pkg + ".instrument._openai_endpoints").Chat
    importlib.import_module(pkg).configure(prometheus=False)
    streams = (openai.Stream, openai.AsyncStream)
    raws = (openai._legacy_response.LegacyAPIResponse, openai._response.BaseAPIResponse)
    wrapper = wrapt.FunctionWrapper(fn, core.wrapper_for(chat(streams, raws), False))
    return wrapper.__get__(resource, type(resource))


def through(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """A pass-through wrapper: what wrapping alone costs."""
    return wrapped(*args, **kwargs)


def least_meter() -> Any:
    """The least a meter can do: the model and client, the call, the two counts and the
    time appended to a bounded deque."""
    records: deque[tuple[Any, ...]] = deque(maxlen=1024)

    def least(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        model, client = kwargs.get("model"), instance._client
        result = wrapped(*args, **kwargs)
        u = result.usage
        records.append((client, model, u.prompt_tokens, u.completion_tokens, time.time()))
        return result

    return least


def run(calls: int, first_new: bool = True, spans: bool = False) -> dict[str, float]:
    """One process: the five callables in every order in turn; trimmed mean µs of each."""
    import wrapt
    from overhead import _client
    from overhead_parts import sdk_tracer

    exporter = sdk_tracer() if spans else None  # before either tree looks for a provider
    client = _client()
    resource = client.chat.completions
    fn = type(resource).create

    fns = {"bare": resource.create,
           "floor": wrapt.FunctionWrapper(fn, through).__get__(resource, type(resource)),
           "least": wrapt.FunctionWrapper(fn, least_meter()).__get__(resource, type(resource))}
    # which tree is imported first alternates between runs (memory layout favours one)
    for name, pkg in (("new", "wattmeter"), ("old", OLD))[::1 if first_new else -1]:
        fns[name] = _wrapped(pkg, resource, fn)
    trees = [importlib.import_module(pkg) for pkg in ("wattmeter", OLD)]

    def between() -> None:  # untimed: the background threads' work (see `paired`)
        for tree in trees:
            tree.flush()
        if exporter is not None:
            exporter.clear()

    return time_in_turn(fns, calls, between)


def time_in_turn(fns: dict[str, Any], calls: int, every_100: Any = None) -> dict[str, float]:
    """Call each of `fns` once a round, in every order in turn (seeded shuffles past five),
    for `calls` rounds after 100 warm ones; each one's trimmed mean (10-90%) and, as
    ``name_low``, the mean of its lower half (5-50%), in µs of the thread's CPU time."""
    msgs = [{"role": "user", "content": "Hello"}]
    names = list(fns)
    for _ in range(100):
        for f in fns.values():
            f(model="gpt-4o-mini", messages=msgs)
    clock = time.thread_time_ns
    times: dict[str, list[int]] = {k: [] for k in names}
    if len(names) <= 5:
        orders = list(itertools.permutations(names))  # each follows each as often
    else:
        rnd = random.Random(0)
        orders = [rnd.sample(names, len(names)) for _ in range(720)]
    for i in range(calls):
        for name in orders[i % len(orders)]:
            f = fns[name]
            t0 = clock()
            f(model="gpt-4o-mini", messages=msgs)
            times[name].append(clock() - t0)
        if every_100 is not None and i % 100 == 99:
            every_100()
    # Each callable's trimmed mean (10-90%): the median of paired differences between two
    # instrumented calls, both widely spread, read ~0 where these read 3-7 µs apart.
    # The lower half (5-50%) as well: the calls no collection or preemption slowed, where
    # wattmeter's work is all there is; its run-to-run spread is about half the trimmed mean's.
    out = {}
    for name in names:
        a = sorted(times[name])
        n = len(a)
        out[name] = statistics.fmean(a[n // 10: -n // 10]) / 1000
        out[name + "_low"] = statistics.fmean(a[n // 20: n // 2]) / 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the git revision to compare with")
    parser.add_argument("--runs", type=int, default=8, help="processes (default 8)")
    parser.add_argument("--calls", type=int, default=1500, help="rounds per process")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--old-first", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--spans", action="store_true",
                        help="with an SDK TracerProvider: both trees make their spans")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(args.child, not args.old_first, args.spans)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        _old_package(args.old, Path(tmp))
        env = {**os.environ,
               "PYTHONPATH": os.pathsep.join((str(ROOT / "src"), tmp, str(Path(__file__).parent)))}
        results = []
        for i in range(args.runs):
            out = subprocess.run([sys.executable, __file__, "--old", args.old,
                                  "--child", str(args.calls), *(["--old-first"] if i % 2 else []),
                                  *(["--spans"] if args.spans else [])],
                                 check=True, text=True,
                                 capture_output=True, env=env).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
            r = results[-1]
            print(f"run {i + 1}: bare {r['bare']:.0f} µs; added: pass-through "
                  f"{r['floor'] - r['bare']:+.1f}, least meter {r['least'] - r['bare']:+.1f}, "
                  f"this tree {r['new'] - r['bare']:+.1f}, "
                  f"{args.old} {r['old'] - r['bare']:+.1f}; this tree minus {args.old} "
                  f"{r['new'] - r['old']:+.1f} µs (lower half {r['new_low'] - r['old_low']:+.1f})",
                  flush=True)
    med = statistics.median
    low = [r["new_low"] - r["old_low"] for r in results]
    print(f"lower half (5-50%), median of {len(results)} runs, added per call: least meter "
          f"{med(r['least_low'] - r['bare_low'] for r in results):+.1f} µs, this tree "
          f"{med(r['new_low'] - r['bare_low'] for r in results):+.1f} µs, {args.old} "
          f"{med(r['old_low'] - r['bare_low'] for r in results):+.1f} µs; this tree minus "
          f"{args.old} {med(low):+.1f} µs (cheaper in {sum(d < 0 for d in low)} of {len(low)})")
    diff = [r["new"] - r["old"] for r in results]
    print(f"median of {len(results)} runs, added per call: pass-through "
          f"{med(r['floor'] - r['bare'] for r in results):+.1f} µs, least meter "
          f"{med(r['least'] - r['bare'] for r in results):+.1f} µs, this tree "
          f"{med(r['new'] - r['bare'] for r in results):+.1f} µs, {args.old} "
          f"{med(r['old'] - r['bare'] for r in results):+.1f} µs; this tree minus {args.old} "
          f"{med(diff):+.1f} µs (cheaper in {sum(d < 0 for d in diff)} of {len(diff)} runs)")


if __name__ == "__main__":
    main()
