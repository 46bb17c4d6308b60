"""Count the characters of text inside a request or response, whatever its SDK shape.

Used only when a provider reported no usage: the token estimate needs the length of the
prompt or the output, never the text itself, so nothing here keeps or returns any text.
The `*_tokens` helpers estimate OpenAI-style chat messages and embeddings inputs.
"""

from __future__ import annotations

from typing import Any

from .._usage import Usage
from ._core import approx_tokens
from ._requests_common import field

__all__ = ["estimate_chat_tokens", "messages_tokens", "text_chars", "texts_tokens"]

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


def texts_tokens(value: Any) -> int:
    """Estimated tokens of an embeddings input: one string or a list of strings."""
    if isinstance(value, str):
        return approx_tokens(value)
    if isinstance(value, (list, tuple)):
        return sum(approx_tokens(v) for v in value if isinstance(v, str))
    return 0


def messages_tokens(messages: Any) -> int:
    """Estimated tokens of OpenAI-style chat messages (string or text-part contents)."""
    total = 0
    for message in messages or ():
        content = field(message, "content")
        if isinstance(content, str):
            total += approx_tokens(content)
        elif isinstance(content, list):
            total += sum(approx_tokens(field(part, "text")) for part in content)
    return total


def estimate_chat_tokens(usage: Usage, messages: Any, response: Any) -> None:
    """Fill `usage` from the request's `messages` and the text of the response's choices,
    for a chat answer that carried no usage block."""
    usage.input_tokens = messages_tokens(messages)
    for choice in field(response, "choices") or ():
        usage.output_tokens += approx_tokens(field(field(choice, "message"), "content"))
