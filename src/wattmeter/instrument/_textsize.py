"""Count the characters of text inside a request or response, whatever its SDK shape.

Used only when a provider reported no usage: the token estimate needs the length of the
prompt or the output, never the text itself, so nothing here keeps or returns any text.
"""

from __future__ import annotations

from typing import Any

__all__ = ["text_chars"]

#: Keys / attributes that hold text (or more text-holding structure) in the SDKs' shapes.
_TEXT_KEYS = ("text", "content", "parts", "contents", "message", "messages", "thinking",
              "prompt", "input", "inputs", "texts")
_MAX_DEPTH = 8


def text_chars(value: Any, _depth: int = 0) -> int:
    """Characters of text in `value`: a string, a list, a dict or an SDK object (pydantic)."""
    if value is None or _depth > _MAX_DEPTH:
        return 0
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (bytes, bytearray, int, float, bool)):
        return 0
    if isinstance(value, (list, tuple)):
        return sum(text_chars(v, _depth + 1) for v in value)
    if isinstance(value, dict):
        return sum(text_chars(value[k], _depth + 1) for k in _TEXT_KEYS if k in value)
    total = 0
    for key in _TEXT_KEYS:
        part = getattr(value, key, None)
        if part is not None and not callable(part):
            total += text_chars(part, _depth + 1)
    return total
