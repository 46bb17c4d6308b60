"""The record queue (issue 19): calls are estimated off the caller's thread, bounded,
drained by `flush()`, fork-safe; a `raise` budget reads the total the queue feeds."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import wattmeter
from wattmeter import _guard, _meter, _queue
from wattmeter._usage import Usage
from wattmeter.testing import capture


@pytest.fixture
def small_queue() -> Iterator[None]:
    yield
    _queue.set_limit()  # back to the default bound and overflow


def _finish(n: int = 1) -> None:
    for _ in range(n):
        _meter.start_call("openai", "gpt-4o", "chat").finish(
            Usage("openai", "gpt-4o", "chat", input_tokens=10, output_tokens=10))


def test_finish_queues_a_record_and_flush_processes_it() -> None:
    wattmeter.configure(prometheus=False)
    seen: list[object] = []
    _meter.add_sink(lambda fp, call: seen.append(fp))
    try:
        with _queue._lock:  # the background thread can't take the record meanwhile
            _finish()
            assert seen == [] and _queue.pending() == 1  # nothing estimated on the call path
        assert wattmeter.flush() == 1
        assert len(seen) == 1 and _queue.pending() == 0
    finally:
        _meter._extra_sinks.clear()
        _meter.receivers[0] = tuple(_meter._sinks)


def test_capture_sees_a_call_as_soon_as_it_returns() -> None:
    with capture() as fps:
        _finish()
        assert len(fps) == 1 and fps[0].energy_wh > 0


def test_a_full_queue_drops_and_counts_in_drop_mode(small_queue: None) -> None:
    from prometheus_client import CollectorRegistry

    from wattmeter.export.prometheus import exporter

    registry = CollectorRegistry()
    exporter(registry=registry)
    _queue.set_limit(3, overflow="drop")
    before = _guard.drop_counts.get("queue_full", 0)
    with _queue._lock:  # hold the thread off so the queue really fills
        _finish(10)
        assert _queue.pending() == 3
    wattmeter.flush()
    assert _guard.drop_counts["queue_full"] - before == 7
    assert registry.get_sample_value("wattmeter_dropped_total",
                                     {"reason": "queue_full"}) >= 7


def test_a_full_queue_processes_the_call_inline_by_default(small_queue: None) -> None:
    _queue.set_limit(2)
    before = _guard.drop_counts.get("queue_full", 0)
    with capture() as fps, _queue._lock:
        _finish(5)  # 3 of them on this thread, at once
        assert _queue.pending() == 2
    assert len(fps) == 5
    assert _guard.drop_counts.get("queue_full", 0) == before


def test_put_says_how_many_wait_before_the_record(small_queue: None) -> None:
    """`Call.finish` reads a usage block itself past `SETTLE_AT` waiting records; a record
    the full queue dropped or processed at once has nothing waiting to read for it."""
    _queue.set_limit(2, overflow="drop")

    def record() -> tuple[object, ...]:
        return (_meter.start_call("openai", "gpt-4o", "chat"), None, False, ())

    wattmeter.flush()  # nothing left from earlier tests
    with _queue._lock:  # the background thread can't take the records meanwhile
        assert [_queue.put(record()) for _ in range(3)] == [0, 1, 0]  # the third dropped
    wattmeter.flush()


def test_set_limit_names_the_bad_value() -> None:
    with pytest.raises(ValueError, match="limit"):
        _queue.set_limit(0)
    with pytest.raises(ValueError, match="overflow"):
        _queue.set_limit(10, overflow="block")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_starts_with_an_empty_queue() -> None:
    wattmeter.configure(prometheus=False)
    with _queue._lock:
        _finish(3)
        pid = os.fork()  # the parent's three records stay the parent's
        if pid == 0:
            ok = _queue.pending() == 0 and _queue._lock.acquire(timeout=1)
            if ok:
                with capture() as fps:
                    _finish()
                    ok = len(fps) == 1
            os._exit(0 if ok else 1)
        assert _queue.pending() == 3
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    wattmeter.flush()  # the parent's records, processed here or by its own thread
    assert _queue.pending() == 0


def test_a_raise_budget_refuses_on_the_total_the_queue_feeds(tmp_path) -> None:
    wattmeter.configure(
        budgets=[wattmeter.Budget(team="search", period="day", actions=("raise",),
                                  limit_wh=1e-9)],
        ledger_path=str(tmp_path / "l.sqlite3"), prometheus=False)
    with wattmeter.attribute(team="search"):
        _finish()
        wattmeter.flush()  # what the background thread does within ~50 ms
        with pytest.raises(wattmeter.BudgetExceededError):
            _meter.start_call("openai", "gpt-4o", "chat")


def test_the_exit_drain_counts_what_it_could_not_process() -> None:
    import threading

    wattmeter.configure(prometheus=False)
    before = _guard.drop_counts.get("exit_timeout", 0)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with _queue._lock:
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    try:
        _finish(2)
        real = _queue._lock

        class Slow:  # the exit drain gives up at once instead of after 5 s
            def acquire(self, timeout: float = -1) -> bool:
                return real.acquire(timeout=0.01)

        _queue._lock = Slow()  # type: ignore[assignment]
        try:
            _queue._at_exit()
        finally:
            _queue._lock = real
    finally:
        release.set()
        t.join()
    assert _guard.drop_counts["exit_timeout"] - before == 2


def test_a_call_queued_before_reconfiguring_reaches_the_replaced_manager(tmp_path) -> None:
    from wattmeter.budget import current_manager

    def configure(limit_wh: float) -> None:
        wattmeter.configure(budgets=[wattmeter.Budget(team="search", period="day",
                                                      limit_wh=limit_wh)],
                            ledger_path=str(tmp_path / "l.sqlite3"), prometheus=False)

    configure(100)
    first = current_manager()
    with _queue._lock:  # the background thread can't take it: still queued at configure
        with wattmeter.attribute(team="search"):
            _finish()
        configure(50)  # a new manager; the old one stops and writes its last rows
    second = current_manager()
    assert first is not None and second is not None and second is not first
    first.close()
    second.flush()
    assert second.status()[0].used == first.status()[0].used > 0


def test_the_thread_sleeps_while_the_queue_is_empty_and_wakes_for_a_record() -> None:
    """An idle process is not woken 20 times a second: the thread waits for the first record
    into an empty queue, then gathers a batch for up to INTERVAL_S (no flush needed)."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import threading, time
        from wattmeter import _queue
        waits = []
        class Counting(threading.Event):
            def wait(self, timeout=None):
                waits.append(timeout)
                return super().wait(timeout)
        _queue._wake = Counting()
        got = []
        _queue.set_drainer(got.extend)
        _queue.put("a")
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
        assert got == ["a"], got
        time.sleep(0.3)  # idle: one wait without a timeout, no polling
        idle = len(waits)
        time.sleep(0.5)
        assert len(waits) == idle and waits[-1] is None, waits
        _queue.put("b")  # the first record into the empty queue wakes it
        deadline = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert got == ["a", "b"], got
        print("ok")
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.stdout.strip() == "ok", out.stdout + out.stderr[-2000:]


def _run_alone(code: str) -> None:
    """Run `code` in a fresh interpreter (the queue's thread and state are its own)."""
    import subprocess
    import sys
    import textwrap

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=60, env=env)
    assert out.stdout.strip() == "ok", out.stdout + out.stderr[-2000:]


def test_a_record_appended_as_a_drain_ends_is_still_processed() -> None:
    """A caller that read the queue's length just before a drain emptied it appends without
    waking the thread (`put` and the plain path both do): the thread looks once more after
    INTERVAL_S before it sleeps without a timeout."""
    _run_alone("""
        import threading, time
        from wattmeter import _queue
        got = []
        class Racing(threading.Event):
            raced = False
            def wait(self, timeout=None):
                if got and not self.raced and timeout is not None:
                    self.raced = True  # the caller's append lands as the drain ends
                    _queue.RECORDS.append("b")
                    return False
                return super().wait(timeout)
        _queue._wake = Racing()
        _queue.set_drainer(got.extend)
        _queue.put("a")
        deadline = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert got == ["a", "b"], got
        print("ok")
    """)


@pytest.mark.parametrize("start", ["wattmeter.configure(prometheus=False)",
                                   "wattmeter.instrument('openai')"])
def test_wiring_starts_the_thread_and_loads_the_estimates_there(start: str) -> None:
    """`wire()` (here through `configure`), or `instrument()`, starts the record thread,
    which loads what the first footprint needs before any call: under a busy caller,
    loading them in the first batch took seconds (issue 19)."""
    _run_alone(f"""
        import sys, threading, time
        import wattmeter
        from wattmeter import _guard, _queue
        assert "wattmeter.estimate._registry" not in sys.modules
        {start}
        deadline = time.monotonic() + 10
        while "wattmeter.estimate._registry" not in sys.modules \\
                and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "wattmeter.estimate._registry" in sys.modules
        assert any(t.name == "wattmeter-records" for t in threading.enumerate())
        print("ok")
    """)


def test_a_warm_up_that_fails_is_counted_and_the_thread_goes_on() -> None:
    _run_alone("""
        import os, time
        os.environ["WATTMETER_STRICT"] = "0"
        from wattmeter import _guard, _queue
        def broken():
            raise RuntimeError("warm-up failed")
        got = []
        _queue.set_drainer(got.extend)
        _queue.start(broken)
        _queue.put("a")
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
        assert got == ["a"] and _guard.error_counts.get("queue.warmup") == 1, got
        print("ok")
    """)


def test_a_fork_waits_for_the_warm_up() -> None:
    """The warm-up imports modules on the record thread: a fork waits for it (bounded), as
    for a batch, so no child inherits an import half-done."""
    _run_alone("""
        import os, time
        from wattmeter import _queue
        done = []
        def slow():
            time.sleep(0.5)
            done.append(1)
        _queue.start(slow)
        time.sleep(0.05)  # the thread is inside the warm-up
        pid = os.fork()
        if pid == 0:
            os._exit(0 if done else 3)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "the child forked mid-warm-up"
        print("ok")
    """)
