"""Issue 23, item 1: a client cannot skip metering by reusing a LiteLLM call id.

The proxy takes ``litellm_call_id`` from the client's ``x-litellm-call-id`` header; the
logger used to skip any call whose id it had seen, so 20 requests under one id were
metered as 1, and a failure then a success under one id dropped the success. These run
real LiteLLM in-process against the simulator with one caller-chosen id for every call
(the real-proxy run is in tests/integrations/test_litellm_proxy.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

litellm = pytest.importorskip("litellm")

from wattmeter.integrations.litellm_proxy import WattmeterLogger  # noqa: E402
from wattmeter.testing import capture  # noqa: E402

MESSAGES = [{"role": "user", "content": "Name three prime numbers, briefly."}]


@pytest.fixture
def kw(simulator: Any) -> Iterator[dict[str, Any]]:
    """Calls go through a fresh logger; litellm's callback lists are put back after."""
    lists = ("callbacks", "success_callback", "failure_callback", "_async_success_callback",
             "_async_failure_callback", "input_callback", "service_callback")
    saved = {name: list(getattr(litellm, name)) for name in lists
             if isinstance(getattr(litellm, name, None), list)}
    litellm.callbacks = [WattmeterLogger()]
    yield {"api_base": simulator.url + "/v1", "api_key": "sk-test", "num_retries": 0,
           "litellm_call_id": "chosen-by-the-client"}
    for name, value in saved.items():
        setattr(litellm, name, value)


def _wait(fps: list[Any], n: int) -> None:
    deadline = time.monotonic() + 20
    while len(fps) < n and time.monotonic() < deadline:  # litellm logs on its own threads
        time.sleep(0.05)
    time.sleep(0.3)  # and a duplicate, if any, would come now


def test_twenty_requests_under_one_call_id_are_twenty_calls(kw: dict[str, Any]) -> None:
    with capture() as fps:
        for _ in range(20):
            litellm.completion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=50, **kw)
        _wait(fps, 20)
    assert len(fps) == 20
    assert sum(fp.output_tokens for fp in fps) == 1000


def test_a_failure_then_a_success_under_one_call_id_are_two_events(
        kw: dict[str, Any]) -> None:
    with capture() as fps:
        with pytest.raises(litellm.InternalServerError):
            litellm.completion(model="openai/error-500", messages=MESSAGES, **kw)
        litellm.completion(model="openai/gpt-4o", messages=MESSAGES, max_tokens=4, **kw)
        _wait(fps, 2)
    assert sorted((fp.outcome, fp.output_tokens) for fp in fps) == [("error", 0), ("ok", 4)]


def test_both_hooks_of_one_call_still_count_once() -> None:
    handler = WattmeterLogger()
    started = object()  # LiteLLM hands both hooks of one call the same start-time object
    kwargs = {"litellm_call_id": "c-1", "start_time": started, "standard_logging_object": {
        "call_type": "acompletion", "model": "gpt-4o", "custom_llm_provider": "openai",
        "prompt_tokens": 10, "completion_tokens": 2}}
    with capture() as fps:
        handler.log_success_event(kwargs, None, started, None)
        handler.log_success_event(kwargs, None, started, None)
        handler.log_success_event({**kwargs, "start_time": object()}, None, None, None)
    assert [fp.input_tokens for fp in fps] == [10, 10]
