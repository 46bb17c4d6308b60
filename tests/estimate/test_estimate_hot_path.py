"""The cached estimate path runs no import statement and validates media arguments cheaply."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import pytest

import wattmeter
from wattmeter import Usage
from wattmeter.estimate import footprint_for


def _imports_during(fn: Callable[[], Any]) -> list[str]:
    fn()  # build the coefficients (imports allowed here)
    seen: list[str] = []
    real = builtins.__import__

    def spy(name: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(name)
        return real(name, *args, **kwargs)

    builtins.__import__ = spy
    try:
        fn()
    finally:
        builtins.__import__ = real
    return seen


@pytest.mark.parametrize("call", [
    lambda: wattmeter.estimate("gpt-4o", "openai", input_tokens=100, output_tokens=50),
    lambda: wattmeter.estimate("black-forest-labs/FLUX.1-dev", operation="image",
                               width=1024, height=768, steps=28, images=2),
    lambda: wattmeter.estimate("Wan-AI/Wan2.1-T2V-14B-Diffusers", operation="video",
                               seconds=5.0, fps=16),
    lambda: wattmeter.estimate("gpt-image-1", operation="image", width=1024, height=1536),
    lambda: wattmeter.estimate("tts-1", operation="speech", characters=300),
    lambda: footprint_for(Usage("openai", "dall-e-3", "image", images=1, width=1024,
                                height=1024), team="t", labels={}),
], ids=["chat", "image", "video", "ar-image", "speech", "footprint_for-image"])
def test_cache_hit_imports_nothing(call: Callable[[], Any]) -> None:
    assert _imports_during(call) == []


def test_media_fast_path_still_rejects_bad_values() -> None:
    for field, value in (("width", 8), ("height", 1.5), ("steps", 0), ("images", True),
                         ("frames", -1), ("characters", "300"), ("fps", 0), ("seconds", -1)):
        with pytest.raises(ValueError, match=field):
            wattmeter.estimate("black-forest-labs/FLUX.1-dev", operation="image",
                               **{field: value})
    fp = wattmeter.estimate("black-forest-labs/FLUX.1-dev", operation="image", width=1024.0,
                            height=1024, steps=28.0)
    assert fp == wattmeter.estimate("black-forest-labs/FLUX.1-dev", operation="image",
                                    width=1024, height=1024, steps=28)
