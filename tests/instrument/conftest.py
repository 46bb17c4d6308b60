"""Fixtures for the instrumentation tests: the `Usage` each finished call was built from,
the GenAI span details of each call, and an instrumented OpenAI client on the simulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from wattmeter import _meter
from wattmeter._usage import Usage
from wattmeter.testing import _Captured


@pytest.fixture
def usages(monkeypatch: pytest.MonkeyPatch) -> list[Usage]:
    """Every `Usage` a top-level call finished with (images, characters, audio seconds...).

    Footprints carry tokens but not every usage field; this spies on the meter core's
    footprint step (wattmeter's own code, not a provider SDK) to see them.
    """
    # footprints are made on the record queue's thread: reading this list flushes it first
    seen: list[Usage] = _Captured()
    original = _meter.footprint_for

    def spy(usage: Usage, **kwargs: Any) -> Any:
        seen.append(usage)
        return original(usage, **kwargs)

    monkeypatch.setattr(_meter, "footprint_for", spy)
    return seen


@pytest.fixture
def client(simulator: Any) -> Any:
    """An instrumented ``openai.OpenAI`` on the simulator, no retries (the OpenAI tests'
    client; the other SDKs' test modules define their own ``client``, which wins there)."""
    import openai

    import wattmeter

    wattmeter.instrument("openai")
    return openai.OpenAI(base_url=simulator.url + "/v1", api_key="sk-test", max_retries=0)


#: A call's span details: (server.address, server.port, gen_ai.response.id, finish reasons).
Details = tuple[Any, Any, Any, tuple[str, ...]]


@pytest.fixture
def span_details(spans: Any) -> Callable[[], list[Details]]:
    """wattmeter makes a span per call; the function returns the server, response id and
    finish reasons on each finished wattmeter span, in order."""
    import wattmeter

    wattmeter.configure(spans="create")

    def details() -> list[Details]:
        out: list[Details] = []
        for span in spans.get_finished_spans():
            scope = span.instrumentation_scope
            if scope is None or scope.name != "wattmeter":
                continue
            a = span.attributes or {}
            out.append((a.get("server.address"), a.get("server.port"),
                        a.get("gen_ai.response.id"),
                        tuple(a.get("gen_ai.response.finish_reasons") or ())))
        return out

    return details


@pytest.fixture
def sim_server(simulator: Any) -> tuple[str, int]:
    """(host, port) of the simulator, as server.address / server.port should say."""
    parts = urlsplit(simulator.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port
