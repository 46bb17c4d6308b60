"""`Usage`: every field defaults at class level, so a tally stores only what it was given."""

from __future__ import annotations

from typing import Any

import pytest

from wattmeter._usage import FIELDS, Usage


def test_fields_default_and_given_ones_are_kept() -> None:
    usage = Usage("openai", "gpt-4o", input_tokens=12, images=2)
    assert (usage.provider, usage.model, usage.operation) == ("openai", "gpt-4o", "chat")
    assert (usage.input_tokens, usage.images, usage.output_tokens) == (12, 2, 0)
    assert (usage.outcome, usage.tokens_estimated, usage.warnings) == ("ok", False, None)
    assert set(vars(usage)) == {"provider", "model", "operation", "input_tokens", "images"}
    assert "input_tokens=12" in repr(usage) and "output_tokens" not in repr(usage)


def test_an_unknown_field_is_refused_by_name() -> None:
    kwargs: dict[str, Any] = {"input_token": 3}
    with pytest.raises(TypeError, match=r"'input_token'.*input_tokens"):
        Usage("openai", "gpt-4o", **kwargs)


def test_lists_are_per_instance() -> None:
    a, b = Usage("p", "m"), Usage("p", "m")
    a.warn("one")
    assert (a.warnings, b.warnings) == (["one"], None)
    assert "warnings" in FIELDS and "provider" not in FIELDS


def _cached(usage: Usage, block: Any) -> None:
    usage.input_tokens = block["prompt"]
    usage.cached_input_tokens = block["cached"]


def test_a_handed_over_usage_block_is_read_once_when_settled() -> None:
    usage = Usage("openai", "gpt-4o")
    usage.reader, usage.raw = _cached, {"prompt": 100, "cached": 64}
    assert usage.cached_input_tokens == 0  # not read on the caller's thread
    usage.settle()
    usage.settle()  # once: nothing left to read
    assert (usage.input_tokens, usage.cached_input_tokens) == (100, 64)
    assert (usage.reader, usage.raw) == (None, None)  # the block isn't kept
    assert "reader" not in FIELDS and "raw" not in FIELDS


def test_a_failing_reader_keeps_what_it_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from wattmeter import _guard

    monkeypatch.setenv("WATTMETER_STRICT", "0")  # the guard logs and swallows, as in production
    usage = Usage("openai", "gpt-4o")
    usage.reader, usage.raw = _cached, {"prompt": 100}  # no "cached"
    before = _guard.error_counts.get("usage.read", 0)
    usage.settle()
    assert (usage.input_tokens, usage.cached_input_tokens, usage.reader) == (100, 0, None)
    assert _guard.error_counts["usage.read"] == before + 1
