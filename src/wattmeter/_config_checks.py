"""Checks of single configuration values that need more than a type: numbers, text, URLs,
zones and deployments. Each returns the clean value or raises a `ValueError` naming the
option, the bad value and the valid form (`_config.validate` adds where it came from).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ._text import MAX_LABEL_CHARS, is_clean, shorten

__all__ = ["bad", "deployments", "grid_zone", "number", "provider_hosts", "text", "url"]

#: Options whose text becomes a label value, so it is bounded like one.
_LABEL_OPTIONS = frozenset({"default_team"})


def bad(name: str, value: Any, form: str) -> ValueError:
    """The error for option `name`: what was given and what is expected."""
    shown = shorten(repr(value), 80)
    return ValueError(f"wattmeter option {name!r}: got {shown}; expected {form}")


def number(name: str, value: Any, kind: str, lo: float | None, hi: float | None) -> float:
    """A finite int or float within [lo, hi]; text is parsed ("1.2", "8080")."""
    rng = (f" from {lo:g} to {hi:g}" if lo is not None and hi is not None
           else f" >= {lo:g}" if lo is not None else "")
    form = ("a whole number" if kind == "int" else "a finite number") + rng
    if isinstance(value, bool):
        raise bad(name, value, form)
    try:
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise bad(name, value, form)
            num: float = int(value.strip()) if isinstance(value, str) else int(value)
        else:
            num = float(value)
    except (TypeError, ValueError, OverflowError):
        raise bad(name, value, form) from None
    if not math.isfinite(num) or (lo is not None and num < lo) or (hi is not None and num > hi):
        raise bad(name, value, form)
    return num


def text(name: str, value: Any) -> str:
    """Non-empty valid UTF-8 text, stripped (label options also bounded in length)."""
    if not isinstance(value, str) or not value.strip():
        raise bad(name, value, "a non-empty string")
    limit = MAX_LABEL_CHARS if name in _LABEL_OPTIONS else 4096
    if not is_clean(value, limit):
        raise bad(name, value, f"valid UTF-8 text of at most {limit} characters (an "
                  "environment variable with undecodable bytes gives invalid text)")
    return value.strip()


def url(name: str, value: Any) -> str:
    """An http:// or https:// URL with a host."""
    from urllib.parse import urlsplit

    form = "an http:// or https:// URL such as 'https://host:port/path'"
    value = text(name, value)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise bad(name, value, form) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise bad(name, value, form)
    return value


def grid_zone(name: str, value: Any) -> str:
    """A zone of the grid table, in its canonical spelling."""
    from .estimate._zones import zone_intensity

    value = text(name, value)
    try:
        return zone_intensity(value).zone
    except ValueError as exc:
        raise ValueError(f"wattmeter option {name!r}: {exc}") from None


def deployments(name: str, value: Mapping[Any, Any]) -> dict[str, dict[str, Any]]:
    """{provider: {Deployment field: value}}, every field known and every value valid."""
    from .estimate._records import Deployment
    from .estimate._resolve import check_deployment

    out: dict[str, dict[str, Any]] = {}
    for provider, dep in value.items():
        if not isinstance(provider, str) or not provider.strip():
            raise bad(name, provider, "provider names as keys, e.g. {'self-hosted': {...}}")
        if not isinstance(dep, Mapping):
            raise bad(name, dep, f"a table of deployment fields for {provider!r} "
                      f"({', '.join(Deployment._fields)})")
        try:
            checked = check_deployment(dict(dep))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"wattmeter option {name!r}, provider {provider!r}: {exc}") from None
        out[provider] = {k: v for k, v in checked._asdict().items() if v is not None}
    return out


def provider_hosts(name: str, value: Mapping[Any, Any]) -> dict[str, str]:
    """{host: provider name}, both non-empty text."""
    out: dict[str, str] = {}
    for host, provider in value.items():
        if not isinstance(host, str) or not isinstance(provider, str) or not (
                host.strip() and provider.strip()):
            raise bad(name, {host: provider}, "host names mapped to provider names, e.g. "
                      "{'llm.internal': 'self-hosted'}")
        out[text(name, host)] = text(name, provider)
    return out
