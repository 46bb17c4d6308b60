"""The meter core: calls, nesting, capture, attribution, the meter() decorator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import wattmeter
from wattmeter import Usage
from wattmeter._meter import record, start_call
from wattmeter.testing import capture


def test_record_captures_team_and_labels() -> None:
    with capture() as fps, wattmeter.attribute(team="search", feature="autocomplete"):
        record(Usage("openai", "gpt-4o", input_tokens=10, output_tokens=5))
    assert len(fps) == 1
    fp = fps[0]
    assert (fp.team, dict(fp.labels)) == ("search", {"feature": "autocomplete"})
    assert (fp.input_tokens, fp.output_tokens) == (10, 5)


def test_default_team_from_configuration() -> None:
    wattmeter.configure(default_team="platform")
    with capture() as fps:
        record(Usage("openai", "gpt-4o"))
    assert fps[0].team == "platform"


def test_nested_attribution_merges_labels_and_inner_team_wins() -> None:
    with capture() as fps, wattmeter.attribute(team="a", x="1"), wattmeter.attribute(
        team="b", y="2"
    ):
        record(Usage("openai", "m"))
    assert fps[0].team == "b" and dict(fps[0].labels) == {"x": "1", "y": "2"}


def test_attribution_follows_asyncio_tasks() -> None:
    async def one(team: str) -> None:
        async with wattmeter.attribute(team=team):
            await asyncio.sleep(0)
            record(Usage("openai", "m"))

    async def main() -> None:
        await asyncio.gather(one("t1"), one("t2"))

    with capture() as fps:
        asyncio.run(main())
    assert sorted(fp.team for fp in fps) == ["t1", "t2"]


def test_finish_is_idempotent_and_nested_calls_count_once() -> None:
    with capture() as fps:
        outer = start_call("self-hosted", "llama", "chat").enter()
        inner = start_call("openai", "gpt-4o", "chat")
        inner.finish(Usage("openai", "gpt-4o", input_tokens=7, output_tokens=3))
        outer.exit()
        outer.finish(None)
        outer.finish(None)
    assert len(fps) == 1
    assert (fps[0].provider, fps[0].input_tokens) == ("self-hosted", 7)


def test_meter_decorator_reads_usage_protocol() -> None:
    @wattmeter.meter(model="meta-llama/Llama-3.1-8B-Instruct")
    def generate(prompt: str) -> dict[str, object]:
        return {"text": "hi", "usage": {"prompt_tokens": 12, "completion_tokens": 4}}

    with capture() as fps:
        assert generate("x")["text"] == "hi"
    assert (fps[0].input_tokens, fps[0].output_tokens, fps[0].provider) == (
        12, 4, "self-hosted")


def test_meter_decorator_generator_counts_items_and_async() -> None:
    @wattmeter.meter(model="m")
    def gen() -> object:
        yield from ("a", "b", "c")

    @wattmeter.meter(model="m", usage=lambda r: {"input_tokens": 2, "output_tokens": r})
    async def agen() -> int:
        return 9

    with capture() as fps:
        assert list(gen()) == ["a", "b", "c"]
        assert asyncio.run(agen()) == 9
    assert [fp.output_tokens for fp in fps] == [3, 9]


def test_meter_decorator_propagates_user_exception() -> None:
    @wattmeter.meter(model="m")
    def boom() -> None:
        raise KeyError("mine")

    with capture() as fps, pytest.raises(KeyError):
        boom()
    assert fps[0].outcome == "error"


def test_meter_bad_arguments_name_the_field() -> None:
    with pytest.raises(ValueError, match="operation"):
        wattmeter.meter(model="m", operation="dance")
    with pytest.raises(ValueError, match="team"):
        wattmeter.attribute(team="")


def test_meter_generator_around_an_instrumented_stream_counts_once(simulator: object) -> None:
    import openai

    wattmeter.configure(provider_hosts={"127.0.0.1": "openai"})
    wattmeter.instrument("openai")
    client = openai.OpenAI(base_url=f"{simulator.url}/v1", api_key="x",  # type: ignore[attr-defined]
                           max_retries=0)

    @wattmeter.meter(model="my-app", provider="self-hosted")
    def chat() -> object:
        stream = client.chat.completions.create(
            model="gpt-4o-mini", max_tokens=12, stream=True,
            messages=[{"role": "user", "content": "hello there"}])
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content

    @wattmeter.meter(model="my-app", provider="self-hosted")
    def plain() -> str:
        reply = client.chat.completions.create(
            model="gpt-4o-mini", max_tokens=7, messages=[{"role": "user", "content": "hi"}])
        return reply.choices[0].message.content or ""

    with capture() as fps:
        assert "".join(chat())
        assert plain()
    assert [(fp.provider, fp.model, fp.output_tokens) for fp in fps] == [
        ("self-hosted", "my-app", 12), ("self-hosted", "my-app", 7)]
    assert all(fp.input_tokens > 0 for fp in fps)


def test_record_of_a_past_call_is_never_refused(tmp_path: object) -> None:
    wattmeter.configure(budgets=[wattmeter.Budget(team="t", limit_wh=1e-9, period="day",
                                                  actions=("raise",))],
                        ledger_path=f"{tmp_path}/l.sqlite3", prometheus=False)
    with wattmeter.attribute(team="t"), capture() as fps:
        record(Usage("openai", "gpt-4o", input_tokens=1000, output_tokens=100))
        record(Usage("openai", "gpt-4o", input_tokens=1000, output_tokens=100))
        wattmeter.flush()  # the background thread's totals, brought up to date now
        with pytest.raises(wattmeter.BudgetExceededError):
            start_call("openai", "gpt-4o", "chat")  # a new request is refused
    assert len(fps) == 2


def test_a_failing_receiver_does_not_stop_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    from wattmeter import _meter

    monkeypatch.setenv("WATTMETER_STRICT", "0")  # the guard logs and swallows, as in production

    def broken(fp: object, call: object) -> None:
        raise RuntimeError("a broken sink")

    wattmeter.configure(prometheus=False)
    _meter.add_sink(broken)
    try:
        with capture() as fps:
            fp = record(Usage("openai", "gpt-4o", input_tokens=3))
    finally:
        _meter.remove_sink(broken)
    assert fp is not None and fps == [fp]


def test_calls_skip_start_call_only_while_nothing_runs_before_them(tmp_path: object) -> None:
    """`_meter.plain` lets the provider core make a call without `start_call` (issue 19):
    not with a budget to check, a start hook, or a tracer provider given to wattmeter;
    with the API's global provider unset its gate says no span can be made."""
    from opentelemetry.sdk.trace import TracerProvider

    from wattmeter import Budget, _meter
    from wattmeter.export.otel import use_providers

    wattmeter.configure(default_team="core")
    team, gate = _meter.plain[0] or ("", None)
    assert team == "core" and gate is not None and gate() is None
    wattmeter.configure(budgets=[Budget(team="core", period="day", limit_wh=1.0,
                                        actions=("raise",))],
                        ledger_path=str(tmp_path) + "/ledger.sqlite3")
    assert _meter.plain[0] is None
    wattmeter.configure(budgets=[])
    assert _meter.plain[0] is not None

    def hook(call: object) -> None:
        pass

    _meter.add_start_hook(hook)
    assert _meter.plain[0] is None
    _meter.remove_start_hook(hook)
    assert _meter.plain[0] is not None
    use_providers(tracer_provider=TracerProvider())
    try:
        assert _meter.plain[0] is None
    finally:
        use_providers()
    assert _meter.plain[0] is not None
    wattmeter.configure(spans="off", otel_metrics=True)  # metrics only: made in the background
    assert (_meter.plain[0] or ("", None))[1]() is None


def test_a_tracer_provider_installed_later_gets_the_next_calls_span(
        spans: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plain path's gate reads the API's global provider on every call, so a provider
    the application installs after wattmeter is wired gets the very next call's span."""
    from opentelemetry import trace

    from wattmeter.instrument._core import Endpoint, wrapper_for

    provider = trace.get_tracer_provider()
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    wattmeter.configure(spans="create")
    meter = wrapper_for(Endpoint(), False)
    meter(lambda **kw: "ok", None, (), {"model": "before"})
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)
    meter(lambda **kw: "ok", None, (), {"model": "after"})
    assert [s.name for s in spans.get_finished_spans()] == ["chat after"]
