"""Endpoint configuration: validated, with errors naming the field and the fix."""

from __future__ import annotations

import pytest

from wattmeter.measure import Endpoint
from wattmeter.measure._endpoints import endpoints, matches, promql_selector


def test_an_endpoint_is_keyed_by_the_address_its_calls_carry() -> None:
    ep = Endpoint("http://vllm.internal:8000/v1", gpus={"Hostname": "node-1"})
    assert ep.key == ("vllm.internal", 8000)
    assert ep.name == "vllm.internal:8000"
    assert Endpoint("vllm.internal:9000", gpus={"pod": "vllm-0"}).key == ("vllm.internal", 9000)


@pytest.mark.parametrize(("url", "gpus", "field"), [
    ("", {"Hostname": "a"}, "url"),
    (None, {"Hostname": "a"}, "url"),
    ("http://vllm:8000", {}, "gpus"),
    ("http://vllm:8000", {"bad-label": "x"}, "gpus"),
    ("http://vllm:8000", {"gpu": 0}, "gpus"),
    ("http://vllm:8000", {"gpu": []}, "gpus"),
])
def test_bad_configuration_names_the_field(url: object, gpus: object, field: str) -> None:
    with pytest.raises(ValueError, match=f"Endpoint\\({field}="):
        Endpoint(url, gpus)  # type: ignore[arg-type]


def test_two_entries_for_one_address_are_refused() -> None:
    with pytest.raises(ValueError, match="same address"):
        endpoints([{"url": "http://a:1", "gpus": {"gpu": "0"}},
                   {"url": "http://a:1/v1", "gpus": {"gpu": "1"}}])
    with pytest.raises(ValueError, match="unknown key"):
        endpoints([{"url": "http://a:1", "gpus": {"gpu": "0"}, "gpu": "0"}])
    with pytest.raises(ValueError, match="at least one"):
        endpoints([])


def test_the_selector_escapes_values_and_lists_become_a_regex() -> None:
    ep = Endpoint("http://a:1", gpus={"Hostname": 'no"de', "gpu": ["0", "1"]})
    assert promql_selector(ep) == '{Hostname="no\\"de",gpu=~"0|1"}'
    assert matches(ep, {"Hostname": 'no"de', "gpu": "1", "UUID": "x"})
    assert not matches(ep, {"Hostname": 'no"de', "gpu": "2"})
