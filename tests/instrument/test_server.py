"""server.address / server.port from a URL: default ports, odd URLs, caches, never raising."""

from __future__ import annotations

from typing import Any

import pytest

from wattmeter._usage import Usage
from wattmeter.instrument import _server


@pytest.mark.parametrize(("url", "expected"), [
    ("https://api.openai.com/v1", ("api.openai.com", 443)),
    ("http://localhost/v1", ("localhost", 80)),
    ("http://127.0.0.1:8000/v1", ("127.0.0.1", 8000)),
    ("HTTPS://Example.COM./x", ("example.com", 443)),
    ("http://[::1]:11434", ("::1", 11434)),
    ("https://user:secret@host.example/v1", ("host.example", 443)),  # no credentials kept
    ("vllm:8000/v1", ("vllm", 8000)),  # no scheme: the port only if written
    ("grpc://host.example", ("host.example", None)),
    ("http://host.example:99999", None),  # port out of range
    ("http://[::1", None),
    ("", None),
    ("/just/a/path", None),
    (None, None),
    (42, None),
])
def test_server_for_url(url: Any, expected: Any) -> None:
    assert _server.server_for_url(url) == expected


def test_caches_are_bounded_and_keyed_safely() -> None:
    for i in range(3 * _server._LIMIT):
        assert _server.server_for_url(f"http://h{i}.example:{i + 1}") == (f"h{i}.example", i + 1)
    assert len(_server._by_text) <= _server._LIMIT

    class URL:
        def __init__(self, text: str) -> None:
            self.text = text

        def __str__(self) -> str:
            return self.text

    for i in range(3 * _server._LIMIT):  # short-lived objects: ids get reused
        assert _server.server_for_object(URL(f"https://o{i}.example")) == (f"o{i}.example", 443)
    assert len(_server._by_object) <= _server._LIMIT
    assert _server.server_for_object(None) is None


def test_stamp_keeps_what_the_endpoint_set() -> None:
    usage = Usage("openai", "m")
    _server.stamp(usage, ("a.example", 443))
    assert (usage.server_address, usage.server_port) == ("a.example", 443)
    _server.stamp(usage, ("b.example", 80))
    _server.stamp(None, ("b.example", 80))
    _server.stamp(usage, None)
    assert (usage.server_address, usage.server_port) == ("a.example", 443)
