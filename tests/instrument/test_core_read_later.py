"""A complete response's usage is read on the record queue's thread (issue 19).

The caller's thread queues the call with its response; the usage block is read when the
footprint is first needed. A response without a usage block is read at once (its
estimate reads the request, which the caller may change afterwards); so is a call whose
span needs the figures. A failure reading it later is counted and the call still recorded.
"""

from __future__ import annotations

import logging
from typing import Any

import openai
import pytest

import wattmeter
from wattmeter import _queue
from wattmeter._guard import error_counts
from wattmeter._meter import add_sink, remove_sink, start_call
from wattmeter.instrument._core import Request, _finish
from wattmeter.instrument._openai_endpoints import Chat
from wattmeter.testing import capture

MSG: Any = [{"role": "user", "content": "hello there"}]


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    reads: list[int] = []
    usage = Chat.usage

    def counted(self: Chat, response: Any, req: Request) -> Any:
        reads.append(1)
        return usage(self, response, req)

    monkeypatch.setattr(Chat, "usage", counted)
    return reads


def test_usage_is_read_after_the_call_returns(client: openai.OpenAI,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    wattmeter.configure(spans="off")  # a span of ours would read the usage at once
    reads = _count_reads(monkeypatch)
    with capture() as fps:
        with _queue._lock:  # the background thread can't drain while this thread holds it
            r = client.chat.completions.create(model="gpt-4o", messages=MSG, max_tokens=4)
            assert reads == []  # the caller only queued the record
            wattmeter.flush()  # reentrant: this thread drains
            assert reads == [1]
    assert r.usage is not None
    assert (fps[0].input_tokens, fps[0].output_tokens) == (r.usage.prompt_tokens, 4)


def test_the_response_is_let_go_once_read(client: openai.OpenAI) -> None:
    calls: list[Any] = []

    def sink(fp: Any, call: Any) -> None:
        calls.append(call)

    add_sink(sink)
    try:
        client.chat.completions.create(model="gpt-4o", messages=MSG, max_tokens=3)
        wattmeter.flush()
    finally:
        remove_sink(sink)
    assert calls and calls[-1].later is None and calls[-1].usage.output_tokens == 3


class _NoUsage:
    """A parsed response from a server that sent no usage block."""

    model = "gpt-4o"
    usage = None
    id = "chatcmpl-1"
    choices: tuple[Any, ...] = ()


def test_a_response_without_usage_is_read_at_once() -> None:
    kwargs: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user",
                                                               "content": "x" * 40}]}
    endpoint = Chat()
    req = Request("openai", "gpt-4o", "chat", kwargs, [0, False])
    call = start_call("openai", "gpt-4o", "chat")
    _finish(endpoint, call, req, _NoUsage(), False)
    kwargs["messages"].append({"role": "user", "content": "y" * 4000})  # the caller goes on
    assert call.later is None and call.usage is not None
    assert call.usage.input_tokens == 10 and call.usage.tokens_estimated
    wattmeter.flush()


def test_a_failure_reading_later_is_counted_and_the_call_kept(
        client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("WATTMETER_STRICT", "0")  # the guard logs and swallows, as in production

    def broken(self: Chat, response: Any, req: Request) -> Any:
        raise RuntimeError("unexpected usage shape")

    before = error_counts.get("openai.response", 0)
    with caplog.at_level(logging.WARNING, logger="wattmeter"), capture() as fps:
        monkeypatch.setattr(Chat, "usage", broken)
        r = client.chat.completions.create(model="gpt-4o", messages=MSG, max_tokens=2)
    assert r.choices  # the caller's response is untouched
    assert len(fps) == 1 and fps[0].output_tokens == 0
    assert error_counts.get("openai.response", 0) == before + 1
