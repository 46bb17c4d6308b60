"""``server.address`` / ``server.port`` of a call: the host and port its client sends to.

The OpenTelemetry GenAI conventions recommend ``server.address`` and make ``server.port``
conditionally required whenever the address is set (semantic-conventions, gen-ai spans,
2025), so the port is the URL's own or else its scheme's default (443 / 80). Each URL is
parsed once: results are cached per URL string or, for httpx-based SDKs, per URL object
(by identity, bounded), so a call pays one dict lookup. Anything unparsable leaves both
unset; user names and passwords in a URL are never kept.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .._usage import Usage

__all__ = ["Server", "server_for_object", "server_for_url", "stamp"]

#: (host, port); port None only when neither the URL nor its scheme says.
Server = tuple[str, int | None]

_DEFAULT_PORTS = {"https": 443, "http": 80, "wss": 443, "ws": 80}
_LIMIT = 256
_by_text: dict[str, Server | None] = {}
_by_object: dict[int, tuple[Any, Server | None]] = {}


def _parse(url: str) -> Server | None:
    text = url.strip()
    if "://" not in text:
        text = "//" + text  # "host:port/path" (e.g. a litellm api_base without a scheme)
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port
    except ValueError:  # a port out of range or not a number, a broken IPv6 literal
        return None
    if not host:
        return None
    if port is None:
        port = _DEFAULT_PORTS.get(parts.scheme.lower())
    return host.rstrip("."), port


def server_for_url(url: Any) -> Server | None:
    """(host, port) of a URL string, None when it names no host (cached per string)."""
    if not isinstance(url, str) or not url:
        return None
    try:
        return _by_text[url]
    except KeyError:
        pass
    found = _parse(url)
    if len(_by_text) >= _LIMIT:
        _by_text.clear()
    _by_text[url] = found
    return found


def server_for_object(url: Any) -> Server | None:
    """(host, port) of a URL object such as ``httpx.URL`` (its ``str`` is the URL), cached by
    identity: the object is kept in the bounded cache, so its id can't be reused meanwhile."""
    key = id(url)
    hit = _by_object.get(key)
    if hit is not None and hit[0] is url:
        return hit[1]
    found = None if url is None else server_for_url(str(url))
    if len(_by_object) >= _LIMIT:
        _by_object.clear()
    _by_object[key] = (url, found)
    return found


def stamp(usage: Usage | None, server: Server | None) -> None:
    """Put `server` on `usage` unless the endpoint already set an address."""
    if server is not None and usage is not None and usage.server_address is None:
        usage.server_address, usage.server_port = server
