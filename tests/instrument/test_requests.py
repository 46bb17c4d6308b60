"""Plain `requests` to OpenAI-compatible endpoints, metered per configured base URL."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import wrapt

import wattmeter
from wattmeter.instrument.requests import find_model, find_usage
from wattmeter.testing import capture

MESSAGES = [{"role": "user", "content": "Summarise the nitrogen cycle in a sentence."}]
PROMPT_TOKENS = (len(MESSAGES[0]["content"]) + 3) // 4


def metering_warnings(fp: Any) -> tuple[str, ...]:
    """The footprint's warnings from metering (the estimator's notes on models left out)."""
    return tuple(w for w in fp.warnings if not w.startswith(("unknown model", "model '")))


@pytest.fixture
def base(simulator: Any) -> Iterator[str]:
    url = simulator.url + "/v1"
    wattmeter.configure(requests_base_urls=[url])
    wattmeter.instrument()  # requests is patched because requests_base_urls is set
    assert "requests" in wattmeter.instrument().libraries
    yield url
    wattmeter.uninstrument()


def test_chat_post_is_metered_and_json_still_works(base: str) -> None:
    with capture() as fps:
        r = requests.post(base + "/chat/completions",
                          json={"model": "llama-3.1-8b", "messages": MESSAGES, "max_tokens": 5},
                          timeout=10)
    body = r.json()
    assert isinstance(r, requests.Response) and body["usage"]["completion_tokens"] == 5
    [fp] = fps
    assert (fp.provider, fp.model, fp.operation) == ("self-hosted", "llama-3.1-8b", "chat")
    assert (fp.input_tokens, fp.output_tokens) == (body["usage"]["prompt_tokens"], 5)
    assert fp.input_tokens == PROMPT_TOKENS and fp.outcome == "ok" and metering_warnings(fp) == ()
    assert "nitrogen" not in repr(fp)


def test_session_completions_and_embeddings(base: str) -> None:
    wattmeter.configure(provider_hosts={"127.0.0.1": "together"})
    with capture() as fps, requests.Session() as s:
        c = s.post(base + "/completions", json={"model": "m1", "prompt": "abcdefgh",
                                                "max_tokens": 3}, timeout=10).json()
        e = s.post(base + "/embeddings", data=json.dumps({"input": ["abcd", "efgh"],
                                                          "model": "e5"}),
                   headers={"content-type": "application/json"}, timeout=10).json()
    assert [(fp.provider, fp.model, fp.operation, fp.input_tokens, fp.output_tokens)
            for fp in fps] == [
        ("together", "m1", "completion", c["usage"]["prompt_tokens"], 3),
        ("together", "e5", "embeddings", e["usage"]["prompt_tokens"], 0)]


def test_everything_else_passes_through(simulator: Any, base: str) -> None:
    with capture() as fps:
        requests.get(base + "/models", timeout=10)
        requests.post(base + "/images/generations", json={"model": "dall-e-3", "prompt": "x"},
                      timeout=10)
        requests.post(simulator.url + "/hf/models/x/v1/chat/completions",
                      json={"model": "x", "messages": MESSAGES}, timeout=10)
        with requests.post(base + "/chat/completions", json={
                "model": "m", "messages": MESSAGES, "stream": True}, stream=True,
                timeout=10) as r:
            assert b"data:" in r.content
    assert fps == []


def test_provider_error_status_is_recorded(base: str) -> None:
    with capture() as fps:
        r = requests.post(base + "/chat/completions",
                          json={"model": "error-429", "messages": MESSAGES}, timeout=10)
    assert r.status_code == 429 and "error" in r.json()
    assert [(fp.outcome, fp.model, fp.output_tokens, metering_warnings(fp)) for fp in fps] == [
        ("error", "error-429", 0, ())]


def test_connection_error_propagates_and_is_recorded() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    wattmeter.configure(requests_base_urls=[url])
    wattmeter.instrument("requests")
    with capture() as fps, pytest.raises(requests.ConnectionError):
        requests.post(url + "/chat/completions", json={"model": "m", "messages": []}, timeout=5)
    assert [fp.outcome for fp in fps] == ["error"]


def test_not_patched_unless_configured_or_named(simulator: Any) -> None:
    assert "requests" not in wattmeter.instrument().libraries
    wattmeter.uninstrument()
    wattmeter.instrument("requests")  # named: patched, but no base URL -> nothing metered
    with capture() as fps:
        requests.post(simulator.url + "/v1/chat/completions",
                      json={"model": "m", "messages": MESSAGES}, timeout=10)
    assert fps == []


def test_uninstrument_restores_send(base: str) -> None:
    assert isinstance(requests.Session.__dict__["send"], wrapt.FunctionWrapper)
    wattmeter.uninstrument("requests")
    assert not isinstance(requests.Session.__dict__["send"], wrapt.FunctionWrapper)
    with capture() as fps:
        requests.post(base + "/chat/completions", json={"model": "m", "messages": MESSAGES},
                      timeout=10)
    assert fps == []


def test_meter_around_a_metered_post_counts_once(base: str) -> None:
    @wattmeter.meter(model="llama", provider="self-hosted")
    def ask() -> Any:
        return requests.post(base + "/chat/completions",
                             json={"model": "llama", "messages": MESSAGES, "max_tokens": 2},
                             timeout=10).json()

    with capture() as fps:
        ask()
    assert [(fp.input_tokens, fp.output_tokens) for fp in fps] == [(PROMPT_TOKENS, 2)]


def test_body_scanning_helpers() -> None:
    body = json.dumps({"id": "x", "choices": [{"message": {"content": 'say "usage": {1}'}}],
                       "model": "gpt-4o", "usage": {"prompt_tokens": 3, "completion_tokens": 1,
                                                    "prompt_tokens_details": {
                                                        "cached_tokens": 2}}}).encode()
    assert find_usage(body) == {"prompt_tokens": 3, "completion_tokens": 1,
                                "prompt_tokens_details": {"cached_tokens": 2}}
    assert find_model(body) == "gpt-4o"
    assert find_usage(b'{"choices": [{"text": "\\"usage\\": {}"}]}') is None
    assert find_model(b'{"input": "' + b"x" * 10000 + b'", "model": "tail"}') == "tail"
    assert find_model(None) is None


def test_span_server_from_the_url(base: str, span_details: Any,
                                  sim_server: tuple[str, int]) -> None:
    """server.address / server.port from the request URL (streams are not metered here)."""
    requests.post(base + "/chat/completions",
                  json={"model": "llama-3.1-8b", "messages": MESSAGES}, timeout=10)
    [(host, port, _rid, _reasons)] = span_details()
    assert (host, port) == sim_server
