"""Issue 12, defect 3: provider usage is validated before it is estimated or counted.

A provider (or a proxy in front of it) that reports negative, NaN, infinite, absurd or
mistyped token counts must not make a counter go down or turn NaN, nor use up a budget:
the call gets an estimate with a warning. Driven through the real openai client against
a loopback server that answers with the garbage.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

import wattmeter
from wattmeter import Usage, _config
from wattmeter._meter import add_sink, record, remove_sink, start_call
from wattmeter.export import prometheus as prom
from wattmeter.export import semconv as sc
from wattmeter.testing import capture
from wattmeter.testing.simulator._server import SimRequest, Simulator, json_response

GARBAGE = [-5, 10**15, float("nan"), 1.5e308, float("inf"), -0.5, 12.5, True, "12", [3]]


@pytest.fixture(scope="module")
def garbage_server() -> Iterator[tuple[Simulator, dict[str, Any]]]:
    """An OpenAI-style chat endpoint whose usage block is whatever the test sets."""
    usage: dict[str, Any] = {}
    sim = Simulator(providers=[])

    @sim.route("POST", "/v1/chat/completions")
    def chat(req: SimRequest) -> Any:
        body = req.json()
        return json_response({
            "id": "chatcmpl-garbage", "object": "chat.completion", "created": 0,
            "model": body["model"], "usage": dict(usage),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "ok"}}],
        })

    sim.start()
    try:
        yield sim, usage
    finally:
        sim.stop()


@pytest.fixture
def reg() -> Iterator[CollectorRegistry]:
    registry = CollectorRegistry()
    ex = prom.exporter(_config.current(), registry=registry)
    add_sink(ex.record)
    yield registry
    remove_sink(ex.record)


def _tokens(reg: CollectorRegistry, kind: str) -> float:
    return sum(s.value for m in reg.collect() for s in m.samples
               if s.name == sc.PROM_TOKENS and s.labels.get("type") == kind)


def _sane(fp: Any) -> None:
    for field in ("energy_wh", "energy_wh_low", "energy_wh_high", "co2e_g", "co2e_g_high"):
        value = getattr(fp, field)
        assert math.isfinite(value) and value >= 0, (field, value)
    for field in ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens"):
        value = getattr(fp, field)
        assert type(value) is int and 0 <= value <= 100_000_000, (field, value)


@pytest.mark.parametrize("bad", GARBAGE, ids=repr)
def test_openai_garbage_usage_is_replaced_and_flagged(
        garbage_server: tuple[Simulator, dict[str, Any]], reg: CollectorRegistry,
        bad: Any) -> None:
    import openai

    sim, usage = garbage_server
    usage.clear()
    usage.update({"prompt_tokens": bad, "completion_tokens": 7, "total_tokens": 7})
    client = openai.OpenAI(base_url=sim.url + "/v1", api_key="sk-test", max_retries=0)
    wattmeter.instrument("openai")
    with capture() as fps:
        for _ in range(3):
            reply = client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
            assert reply.choices[0].message.content == "ok"  # the call is untouched
    assert len(fps) == 3
    for fp in fps:
        _sane(fp)
        assert fp.output_tokens == 7
    assert _tokens(reg, "uncached_input") >= 0 and math.isfinite(_tokens(reg, "uncached_input"))
    assert _tokens(reg, "output") == 21


@pytest.mark.parametrize("bad", GARBAGE, ids=repr)
@pytest.mark.parametrize("field", ["input_tokens", "output_tokens", "cached_input_tokens",
                                   "reasoning_tokens"])
def test_footprint_for_does_not_trust_usage(field: str, bad: Any,
                                            reg: CollectorRegistry) -> None:
    usage = Usage("openai", "gpt-4o", input_tokens=100, output_tokens=20)
    setattr(usage, field, bad)
    with capture() as fps:
        record(usage)
    fp = fps[0]
    _sane(fp)
    assert any(field in w for w in fp.warnings), fp.warnings
    for kind in ("uncached_input", "cached_input", "output", "reasoning"):
        assert math.isfinite(_tokens(reg, kind)) and _tokens(reg, kind) >= 0
    energy = sum(s.value for m in reg.collect() for s in m.samples if s.name == sc.PROM_ENERGY)
    assert math.isfinite(energy) and energy >= 0


def test_counters_never_decrease() -> None:
    registry = CollectorRegistry()
    ex = prom.exporter(_config.current(), registry=registry)
    add_sink(ex.record)
    try:
        seen = []
        for bad in (50, -1000, 50, -10**9, 50):
            record(Usage("openai", "gpt-4o", input_tokens=bad, output_tokens=5))
            seen.append(_tokens(registry, "uncached_input"))
    finally:
        remove_sink(ex.record)
    assert seen == sorted(seen) and seen[-1] == 150


def test_an_absurd_count_does_not_use_up_a_budget(tmp_path: Any) -> None:
    wattmeter.configure(budgets=[{"team": "t", "limit": "10 Wh", "period": "day",
                                  "actions": ["raise"]}],
                        ledger_path=str(tmp_path / "l.sqlite3"))
    with wattmeter.attribute(team="t"):
        record(Usage("openai", "gpt-4o", input_tokens=10**15, output_tokens=10**15))
        call = start_call("openai", "gpt-4o", "chat")  # the next call is not refused
        with capture() as fps:
            call.finish(Usage("openai", "gpt-4o", input_tokens=100, output_tokens=100))
    fp = wattmeter.estimate("gpt-4o", input_tokens=100, output_tokens=100)
    assert len(fps) == 1 and fps[0].energy_wh == pytest.approx(fp.energy_wh)


def test_bad_media_sizes_fall_back_to_the_model_default() -> None:
    good = Usage("openai", "dall-e-3", "image", images=1)
    with capture() as fps:
        record(good)
        for field, bad in (("width", -1), ("height", float("nan")), ("steps", 10**12),
                           ("images", "2"), ("video_seconds", float("inf"))):
            u = Usage("openai", "dall-e-3", "image", images=1)
            setattr(u, field, bad)
            record(u)
    for fp in fps:
        _sane(fp)
    assert all(fp.energy_wh == pytest.approx(fps[0].energy_wh) for fp in fps[1:])
    assert all(fp.warnings != fps[0].warnings for fp in fps[1:3])
