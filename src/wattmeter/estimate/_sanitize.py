"""Provider usage is not trusted: counts and names made safe before an estimate uses them.

The meter core's hot path checks the well-formed case inline (four ``type(x) is int`` and
range tests); only a call whose usage fails that check comes here. A bad count (negative,
NaN, infinite, a float, a bool, text, over the cap) is replaced, and the call's footprint
says so in a warning, so a counter never decreases, never turns NaN and one absurd report
cannot use up a team's budget.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .._text import MAX_NAME_CHARS, clean

__all__ = ["MAX_TOKENS", "check_count", "check_media", "counts", "evict_oldest", "media",
           "model_name"]

#: The most tokens one call may report (100 M; the longest context windows are ~10 M).
MAX_TOKENS = 100_000_000

#: (field, low, high, whole number) of the media quantities of a `Usage`, as `estimate()`.
_MEDIA = (("images", 1, 10_000, True), ("width", 16, 16_384, True),
          ("height", 16, 16_384, True), ("steps", 1, 10_000, True),
          ("frames", 1, 100_000, True), ("fps", 1, 240, False),
          ("video_seconds", 0, 3_600, False), ("audio_seconds", 0, 1_000_000, False),
          ("characters", 0, MAX_TOKENS, True))


def _count(value: Any, field: str, warnings: list[str]) -> int:
    if value is None:
        return 0
    if type(value) is int and 0 <= value <= MAX_TOKENS:
        return value
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
          and math.isfinite(value) and 0 <= value <= MAX_TOKENS)
    if ok and float(value).is_integer():
        return int(value)
    warnings.append(f"provider usage {field}={_show(value)} is not a token count from 0 to "
                    f"{MAX_TOKENS:,}; counted as {round(value) if ok else 0}")
    return round(value) if ok else 0


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "\u2026"


def counts(it: Any, ot: Any, ct: Any, rt: Any) -> tuple[int, int, int, int, list[str]]:
    """Input, output, cached and reasoning tokens made whole, non-negative and capped,
    with a warning for each one replaced (None means "not reported": 0, no warning)."""
    warnings: list[str] = []
    it = _count(it, "input_tokens", warnings)
    ot = _count(ot, "output_tokens", warnings)
    ct = _count(ct, "cached_input_tokens", warnings)
    rt = _count(rt, "reasoning_tokens", warnings)
    if ct > it:
        warnings.append(f"provider usage cached_input_tokens={ct} exceeds input_tokens={it}; "
                        "counted as input_tokens")
        ct = it
    return it, ot, ct, rt, warnings


def media(usage: Any) -> list[str]:
    """Replace, on `usage`, each media quantity out of range by None (the model's default),
    returning a warning per replaced field."""
    warnings: list[str] = []
    for field, lo, hi, whole in _MEDIA:
        value = getattr(usage, field)
        if value is None or (type(value) is int and lo <= value <= hi):
            continue
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
              and math.isfinite(value) and lo <= value <= hi)
        if ok and whole and not float(value).is_integer():
            ok = False
        if not ok:
            warnings.append(f"provider usage {field}={_show(value)} is out of range "
                            f"({lo:g}-{hi:g}); the model's default was used")
            setattr(usage, field, None)
        elif whole:
            setattr(usage, field, int(value))
    return warnings


def model_name(value: Any) -> str:
    """A model name fit for a cache key, a label and a warning: text, valid UTF-8, at most
    `MAX_NAME_CHARS` characters (a longer one is cut; no real name comes close)."""
    if not isinstance(value, str) or not value.strip():
        return "unknown"
    return clean(value, MAX_NAME_CHARS)


def check_count(field: str, value: Any) -> int:
    """A token count given to `estimate()`: a whole number from 0 to 100 M, else ValueError."""
    return int(_num(field, value, 0, MAX_TOKENS, integer=True, optional=False))


def _num_first(*args: Any, **kwargs: Any) -> Any:
    """`_resolve.num`, imported on first use and then bound (no import per call, and
    no import of the registry at ``import wattmeter``)."""
    global _num
    from ._resolve import num

    _num = num
    return num(*args, **kwargs)


_num: Callable[..., Any] = _num_first


def check_media(images: Any, width: Any, height: Any, steps: Any, frames: Any, seconds: Any,
           fps: Any, characters: Any, audio_seconds: Any) -> tuple[Any, ...]:
    """Check the media arguments of `estimate()`; whole numbers in range skip the full check."""
    n = _num
    if images is not None and (type(images) is not int or not 1 <= images <= 10_000):
        images = n("images", images, 1, 10_000, integer=True)
    if width is not None and (type(width) is not int or not 16 <= width <= 16_384):
        width = n("width", width, 16, 16_384, integer=True)
    if height is not None and (type(height) is not int or not 16 <= height <= 16_384):
        height = n("height", height, 16, 16_384, integer=True)
    if steps is not None and (type(steps) is not int or not 1 <= steps <= 10_000):
        steps = n("steps", steps, 1, 10_000, integer=True)
    if frames is not None and (type(frames) is not int or not 1 <= frames <= 100_000):
        frames = n("frames", frames, 1, 100_000, integer=True)
    if seconds is not None:
        seconds = n("seconds", seconds, 0, 3_600)
    if fps is not None:
        fps = n("fps", fps, 1, 240)
    if characters is not None and (type(characters) is not int
                                   or not 0 <= characters <= MAX_TOKENS):
        characters = n("characters", characters, 0, MAX_TOKENS, integer=True)
    if audio_seconds is not None:
        audio_seconds = n("audio_seconds", audio_seconds, 0, 1_000_000)
    return images, width, height, steps, frames, seconds, fps, characters, audio_seconds


def evict_oldest(cache: dict[Any, Any], *others: dict[Any, Any], limit: int) -> None:
    """Make room in a full `cache` by dropping its oldest eighth (and those keys in
    `others`), instead of clearing it: hot entries made early are rebuilt, nothing else."""
    if len(cache) < limit:
        return
    try:
        keys = list(cache)[: max(1, limit // 8)]
    except RuntimeError:  # pragma: no cover - resized by another thread; next miss retries
        return
    for key in keys:
        cache.pop(key, None)
        for other in others:
            other.pop(key, None)
