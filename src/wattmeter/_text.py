"""Text that crosses a boundary, made safe: valid UTF-8 and bounded length.

Team names, label values and model names come from users' requests and environments; a
lone surrogate would make ``/metrics`` (UTF-8) fail for the whole process, and a 10 MB
name would cost a regex scan per call. Shared by configuration, attribution, the
estimator and the exporters; depends on nothing.
"""

from __future__ import annotations

import re

__all__ = ["MAX_LABEL_CHARS", "MAX_NAME_CHARS", "clean", "is_clean", "shorten"]

#: Longest label value (team, label) kept as given; longer ones are cut with a marker.
MAX_LABEL_CHARS = 200
#: Longest model name used as given; longer ones are cut (no real model name comes close).
MAX_NAME_CHARS = 200
_MARK = "\u2026"  # an ellipsis says the value was cut
_SURROGATES = re.compile("[\ud800-\udfff]")


def is_clean(value: str, limit: int = MAX_LABEL_CHARS) -> bool:
    """True when `value` is valid UTF-8 text (no lone surrogates) of at most `limit` chars."""
    if len(value) > limit:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean(value: str, limit: int = MAX_LABEL_CHARS) -> str:
    """`value` with lone surrogates (e.g. undecodable bytes of an environment variable)
    replaced by U+FFFD and cut to `limit` characters; well-formed short text unchanged."""
    if is_clean(value, limit):
        return value
    cut = len(value) > limit
    if cut:
        value = value[: limit - 1]
    if not value.isascii():
        value = _SURROGATES.sub("\ufffd", value)
    return value + _MARK if cut else value


def shorten(value: str, limit: int = MAX_NAME_CHARS) -> str:
    """`value` cut to `limit` characters for a log line or warning (no other change)."""
    return value if len(value) <= limit else value[: limit - 1] + _MARK
