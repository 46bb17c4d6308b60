"""Fixtures for the instrumentation tests: the `Usage` each finished call was built from,
and an instrumented OpenAI client on the simulator."""

from __future__ import annotations

from typing import Any

import pytest

from wattmeter import _meter
from wattmeter._usage import Usage


@pytest.fixture
def usages(monkeypatch: pytest.MonkeyPatch) -> list[Usage]:
    """Every `Usage` a top-level call finished with (images, characters, audio seconds...).

    Footprints carry tokens but not every usage field; this spies on the meter core's
    footprint step (wattmeter's own code, not a provider SDK) to see them.
    """
    seen: list[Usage] = []
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
