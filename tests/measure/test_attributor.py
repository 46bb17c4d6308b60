"""The attributor end to end on a synthetic source: calls in, measured figures out, each
fault falling back with a counted reason, nothing counted twice, nothing on the caller."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from measure_helpers import EP, MODEL, FakeSource, served
from prometheus_client import CollectorRegistry

from wattmeter.estimate._calibration import RATIOS, clear
from wattmeter.measure import Attributor, Endpoint
from wattmeter.measure._outputs import MeasuredMetrics


def watts(w: float) -> Any:
    return lambda t: w * t  # joules so far at constant power


@pytest.fixture(autouse=True)
def _no_calibration() -> Iterator[None]:
    clear()
    yield
    clear()


def make(source: Any, **kw: Any) -> tuple[Attributor, list[Any], CollectorRegistry]:
    reg = CollectorRegistry()
    kw.setdefault("window_s", 0.4)
    att = Attributor(source, kw.pop("eps", [EP]), settle_s=0.0, max_gap_s=1.0,
                     metrics=MeasuredMetrics(reg), spans=False, **kw).attach()
    got: list[Any] = []
    att.receivers.append(lambda fp, prov, call: got.append((fp, prov)))
    return att, got, reg


def close_all(att: Attributor) -> list[Any]:
    try:
        return att.step(now=time.time() + 2.0)
    finally:
        att.stop()


def load() -> None:
    for i, team in enumerate(("search", "chat", "search", "chat")):
        served(team, 200 + 50 * i, 40 + 10 * i, 0.05)


def test_measured_figures_sum_to_each_window_and_idle_is_its_own_line() -> None:
    att, got, reg = make(FakeSource(watts(300.0)))
    load()
    results = close_all(att)
    ok = [r for r in results if r.reason is None]
    assert ok and len(ok) == len(results)
    for r in ok:
        assert r.attributed_j + r.idle_j == pytest.approx(r.measured_j, rel=1e-9)
    assert len(got) == 4
    fps = [fp for fp, _ in got]
    assert {fp.method for fp in fps} == {"measured"}
    assert all(fp.window_end > fp.window_start > 0 for fp in fps)
    attributed = math.fsum(fp.accelerator_wh * 3600 for fp in fps)
    assert attributed == pytest.approx(att.totals["attributed_j"], rel=0.02)
    assert att.totals["idle_j"] > 0  # the gaps after the calls
    # the counter carries each call once, in facility joules
    facility = math.fsum(fp.energy_wh * 3600 for fp in fps)
    counted = sum(s.value for m in reg.collect() for s in m.samples
                  if s.name == "wattmeter_measured_energy_joules_total")
    assert counted == pytest.approx(facility)
    idle = sum(s.value for m in reg.collect() for s in m.samples
               if s.name == "wattmeter_measured_idle_joules_total")
    assert idle == pytest.approx(att.totals["idle_j"])


def test_later_calls_on_the_endpoint_are_calibrated_until_the_attributor_stops() -> None:
    att, got, _ = make(FakeSource(watts(300.0)))
    load()
    att.step(now=time.time() + 2.0)
    cal = RATIOS[EP.key]
    measured = math.fsum(fp.accelerator_wh for fp, _ in got)
    estimated = math.fsum(prov.accelerator_wh for _, prov in got)
    assert cal.ratio == pytest.approx(measured / estimated, rel=0.5)
    assert cal.low < 1 < cal.high
    from wattmeter.testing import capture

    with capture() as fps:
        served("search", 300, 50, 0.0)
    att.stop()
    assert fps[0].method == "calibrated"
    assert EP.key not in RATIOS  # no measurement confirms it any more


@pytest.mark.parametrize(("fault", "reason"), [
    ("missing", "missing_series"),
    ("reset", "counter_reset"),
    ("gap", "scrape_gap"),
    ("down", "prometheus_down"),
])
def test_each_fault_falls_back_to_the_estimate_with_a_counted_reason(
        fault: str, reason: str, caplog: pytest.LogCaptureFixture) -> None:
    source = FakeSource(watts(300.0))
    att, got, reg = make(source, window_s=5.0)
    t = time.time()
    if fault == "missing":
        source.missing = True
    elif fault == "reset":
        source.reset_at = t + 1.0
    elif fault == "gap":
        source.gap = (t - 0.5, t + 2.0)
    else:
        source.down = True
    load()
    results = att.step(now=att.closed_until + 5.0)
    att.stop()
    assert [r.reason for r in results] == [reason]
    assert got == []  # the calls keep their (already counted) estimates
    assert att.fallbacks == {reason: 1}
    counted = {s.labels["reason"]: s.value for m in reg.collect() for s in m.samples
               if s.name == "wattmeter_measure_fallbacks_total"}
    assert counted == {reason: 1.0}
    assert reason in caplog.text


def test_endpoints_sharing_gpus_split_them_together() -> None:
    other = Endpoint("http://127.0.0.1:8001/v1", gpus={"Hostname": "node-1"}, name="qwen")
    att, got, _ = make(FakeSource(watts(300.0)), eps=[EP, other])
    served("search", 300, 50, 0.05)
    served("chat", 300, 50, 0.05, port=8001)
    results = close_all(att)
    assert {r.endpoint for r in results} == {"llama+qwen"}
    assert att.fallbacks.get("shared_gpu", 0) >= 1
    assert len(got) == 2
    busy = math.fsum(r.attributed_j for r in results)
    assert math.fsum(fp.accelerator_wh * 3600 for fp, _ in got) == pytest.approx(busy)


def test_a_call_still_running_holds_its_window_open() -> None:
    att, got, _ = make(FakeSource(watts(300.0)), window_s=0.2, max_wait_s=60.0)
    release = threading.Event()
    from wattmeter import meter
    from wattmeter._usage import Usage

    @meter(model=MODEL)
    def slow() -> Usage:
        release.wait(5)
        return Usage("self-hosted", MODEL, "chat", input_tokens=10, output_tokens=10,
                     server_address="127.0.0.1", server_port=8000)

    worker = threading.Thread(target=slow)
    worker.start()
    time.sleep(0.05)
    assert att.step(now=time.time() + 1.0) == []  # held: the call started inside
    release.set()
    worker.join()
    assert close_all(att)
    assert len(got) == 1


def test_a_call_reported_after_its_window_closed_keeps_its_estimate() -> None:
    att, got, _ = make(FakeSource(watts(300.0)), window_s=0.2)
    att.step(now=time.time() + 1.0)  # close windows past the present
    served("search", 100, 10, 0.0)  # started before the last closed window's end
    close_all(att)
    assert got == [] and att.fallbacks.get("late_call") == 1


def test_the_callers_thread_never_reads_the_source() -> None:
    source = FakeSource(watts(300.0))
    att = Attributor(source, [EP], window_s=0.2, settle_s=0.0, max_gap_s=1.0,
                     spans=False).start(poll_s=0.05)
    try:
        load()
        deadline = time.time() + 10
        while not source.reads and time.time() < deadline:
            time.sleep(0.05)
    finally:
        att.stop()
    assert source.reads and threading.get_ident() not in source.reads


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="window_s"):
        Attributor(FakeSource(watts(1.0)), [EP], window_s=0)
    with pytest.raises(ValueError, match="max_gap_s"):
        Attributor(FakeSource(watts(1.0)), [EP], max_gap_s=float("nan"))
    # every duration is checked where it enters, naming the option (issue 22's review)
    for field, bad in (("settle_s", -1.0), ("settle_s", float("inf")), ("max_wait_s", 0),
                       ("max_wait_s", "60"), ("max_wait_s", float("nan")),
                       ("half_life", 0), ("half_life", float("nan")), ("half_life", True)):
        with pytest.raises(ValueError, match=rf"{field}: got "):
            Attributor(FakeSource(watts(1.0)), [EP], **{field: bad})
    att = Attributor(FakeSource(watts(1.0)), [EP], settle_s=0)  # no settling is allowed
    for bad in (0, -0.5, float("nan"), 10_000.0):
        with pytest.raises(ValueError, match=r"poll_s: got .*expected seconds"):
            att.start(poll_s=bad)
    from wattmeter.measure import PrometheusSource, ScrapeSource

    with pytest.raises(ValueError, match="max_skew_s: got"):
        PrometheusSource("http://127.0.0.1:9", max_skew_s=float("nan"))
    with pytest.raises(ValueError, match="timeout_s: got"):
        PrometheusSource("http://127.0.0.1:9", timeout_s=-2)
    with pytest.raises(ValueError, match="interval_s: got"):
        ScrapeSource("http://127.0.0.1:9/metrics", interval_s=0)


def test_the_measured_figure_goes_on_a_span_linked_to_the_calls(spans: Any) -> None:
    att = Attributor(FakeSource(watts(300.0)), [EP], window_s=0.4, settle_s=0.0,
                     max_gap_s=1.0).attach()
    served("search", 300, 60, 0.05)
    att.step(now=time.time() + 2.0)
    att.stop()
    finished = spans.get_finished_spans()
    call = next(s for s in finished if s.name.startswith("chat"))
    linked = [s for s in finished if s.name == "wattmeter.footprint"]
    assert len(linked) == 1
    assert [link.context.span_id for link in linked[0].links] == [call.context.span_id]
    assert call.attributes["wattmeter.method"] == "estimated"
    assert linked[0].attributes["wattmeter.method"] == "measured"
    assert linked[0].attributes["wattmeter.team"] == "search"
    assert linked[0].attributes["wattmeter.window_end"] > linked[0].attributes[
        "wattmeter.window_start"]


def test_a_call_that_never_finishes_holds_windows_only_until_max_wait() -> None:
    from wattmeter._meter import start_call

    att, got, _ = make(FakeSource(watts(300.0)), window_s=0.2, max_wait_s=1.0)
    start_call("self-hosted", MODEL, "chat")  # abandoned: never finished
    served("search", 100, 10, 0.05)
    first = att.step(now=time.time() + 0.5)
    assert first == []  # held by the call in flight
    later = att.step(now=time.time() + 3.0)  # past max_wait_s: closed without it
    assert later and att.fallbacks.get("calls_in_flight") == 1
    assert att.step(now=time.time() + 6.0)  # and it holds nothing any more
    att.stop()
    assert att.fallbacks.get("calls_in_flight") == 1 and len(got) == 1


def test_one_lagging_endpoint_fails_only_itself() -> None:
    """A NotReady from one endpoint escaped the per-endpoint handling: the endpoints after it
    were never read and, once late, every endpoint fell back as a scrape gap."""
    from wattmeter.measure._series import NotReady

    class Lagging(FakeSource):
        def read(self, ep: Endpoint, t0: float, t1: float, lookback_s: float) -> Any:
            if ep.name == "slow":
                raise NotReady(ep.name)
            return super().read(ep, t0, t1, lookback_s)

    slow = Endpoint("http://127.0.0.1:8001/v1", gpus={"Hostname": "node-2"}, name="slow")
    att, got, _ = make(Lagging(watts(300.0)), eps=[slow, EP], max_wait_s=0.5)
    served("search", 300, 50, 0.05)
    results = close_all(att)
    by_endpoint = {r.endpoint: r.reason for r in results}
    assert by_endpoint.get("llama", "missing") is None, results
    assert by_endpoint.get("slow") == "scrape_gap", results
    assert len(got) == 1 and got[0][0].method == "measured"  # llama's call kept its figure


def test_spread_idle_still_learns_the_gpus_idle_power() -> None:
    """With spread_idle the idle line goes to the calls, but the GPUs' measured floor is
    still learned from the idle pieces (it read as 0 W after every window with calls)."""
    att, got, _ = make(FakeSource(watts(300.0)), window_s=1.0, spread_idle=True)
    served("search", 100, 10, 0.05)
    close_all(att)
    assert got and att._base_w
    floors = att._base_w.values()  # two GPUs of 300 W
    assert all(w == pytest.approx(600.0, rel=0.05) for w in floors), att._base_w


def test_wait_returns_once_the_windows_up_to_now_are_closed() -> None:
    att = Attributor(FakeSource(watts(300.0)), [EP], window_s=0.2, settle_s=0.0,
                     max_gap_s=1.0).start(poll_s=0.02)
    try:
        served("search", 100, 10, 0.05)
        assert att.wait(timeout_s=10)
        assert att.closed_until >= time.time() - 0.5
        assert not att.wait(until=time.time() + 3600, timeout_s=0.1)  # a future it can't reach
        with pytest.raises(ValueError, match="timeout_s: got"):
            att.wait(timeout_s=float("nan"))
        with pytest.raises(ValueError, match="until: got"):
            att.wait(until=float("nan"))  # would read as "closed" at once
    finally:
        att.stop()
