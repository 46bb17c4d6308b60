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
