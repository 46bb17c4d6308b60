"""Draws held at their median (benchmarks/width_parts.py): nothing held in use, a held part
no longer spreads the estimate, everything held collapses it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from scripts_helpers import load_script

from wattmeter import estimate
from wattmeter.estimate import _api
from wattmeter.estimate._hold import PARTS, held, hold, set_held

CHAT = {"input_tokens": 400, "output_tokens": 400}


@pytest.fixture
def release() -> Iterator[None]:
    yield
    set_held(())
    _api.clear_cache()


def _width(model: str, provider: str) -> float:
    _api.clear_cache()
    fp = estimate(model, provider, **CHAT)
    return fp.energy_wh_high / fp.energy_wh_low


def test_nothing_is_held_in_use() -> None:
    assert held() == frozenset() and hold("size", 3.0, 1.0) == 3.0


def test_unknown_part_is_a_clear_error(release: None) -> None:
    with pytest.raises(ValueError, match="sizes"):
        set_held(["sizes"])


def test_a_held_part_narrows_and_all_held_collapses(release: None) -> None:
    free = _width("claude-sonnet-4", "anthropic")
    set_held(["size"])
    assert hold("size", 3.0, 1.0) == 1.0 and hold("pue", 3.0, 1.0) == 3.0
    assert _width("claude-sonnet-4", "anthropic") < 0.8 * free
    set_held(PARTS)
    assert _width("claude-sonnet-4", "anthropic") == pytest.approx(1.0)
    assert _width("gpt-4.1", "openai") == pytest.approx(1.0)
    set_held(())
    assert _width("claude-sonnet-4", "anthropic") == free


def test_width_parts_benchmark_holds_and_releases() -> None:
    """benchmarks/width_parts.py: with the cost ratio's stray held, GPT-4.1 (sized as GPT-4o)
    is held by OpenAI's disclosure as tightly as GPT-4o; nothing stays held afterwards."""
    bench = load_script("benchmarks/width_parts.py")
    _, four_o = bench.width("gpt-4o@openai")
    _, sibling = bench.width("gpt-4.1@openai", {"sibling_ratio"})
    assert sibling == pytest.approx(four_o, rel=0.2)
    assert held() == frozenset()
