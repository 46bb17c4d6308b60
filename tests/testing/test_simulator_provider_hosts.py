"""`Simulator.provider_hosts`: calls to the simulator are metered as the named provider's."""

from __future__ import annotations

from typing import Any

import pytest

import wattmeter
from wattmeter.testing import capture


def test_calls_to_the_simulator_are_metered_as_the_provider_named(simulator: Any) -> None:
    openai = pytest.importorskip("openai")
    assert simulator.provider_hosts("openai") == {simulator.host: "openai"}
    client = openai.OpenAI(base_url=simulator.url + "/v1", api_key="sk-simulated")
    messages = [{"role": "user", "content": "Hi"}]
    wattmeter.instrument("openai")
    with capture() as loopback:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    wattmeter.configure(provider_hosts=simulator.provider_hosts("openai"))
    with capture() as named:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert loopback[0].provider == "self-hosted"  # what a script got before the helper
    assert named[0].provider == "openai" and named[0].grid_zone == "US"


@pytest.mark.parametrize("bad", ["", "  ", None, 3])
def test_a_missing_provider_name_is_a_clear_error(simulator: Any, bad: Any) -> None:
    with pytest.raises(ValueError, match="provider must be a provider name such as 'openai'"):
        simulator.provider_hosts(bad)
