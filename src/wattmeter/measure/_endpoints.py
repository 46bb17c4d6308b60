"""Which GPUs serve which endpoint: the configuration of measured attribution, validated.

An `Endpoint` names the base URL (or ``host:port``) its clients call, which is what a
call's `Usage` carries as ``server.address``/``server.port``, and the DCGM exporter labels
that select its GPUs (``Hostname``, ``gpu`` or ``UUID``; ``pod`` and ``namespace`` on
Kubernetes). Bad configuration raises `ValueError` naming the field and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..budget._fleet import escape_label_value
from ..instrument._server import server_for_url

__all__ = ["Endpoint", "endpoints", "matches", "promql_selector"]

_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Endpoint:
    """One self-hosted endpoint and its GPUs.

    ``url``: the base URL clients use (``http://vllm:8000/v1``) or ``host:port``;
    ``gpus``: DCGM label -> value or list of values (``{"Hostname": "node-1",
    "gpu": ["0", "1"]}``); ``name``: how reports and the idle line call it.
    """

    __slots__ = ("gpus", "key", "name", "url")

    def __init__(self, url: str, gpus: Mapping[str, Any], name: str | None = None) -> None:
        server = server_for_url(url) if isinstance(url, str) else None
        if server is None:
            raise ValueError(f"Endpoint(url=...): got {url!r}; expected the base URL its "
                             "clients call, e.g. 'http://vllm:8000/v1', or 'host:port'")
        if not isinstance(gpus, Mapping) or not gpus:
            raise ValueError(f"Endpoint(gpus=...) for {url}: got {gpus!r}; expected DCGM "
                             "labels selecting its GPUs, e.g. {'Hostname': 'node-1', "
                             "'gpu': ['0', '1']} (an empty selector would take every GPU)")
        clean: dict[str, tuple[str, ...]] = {}
        for label, value in gpus.items():
            if not isinstance(label, str) or not _LABEL.fullmatch(label):
                raise ValueError(f"Endpoint(gpus=...) for {url}: {label!r} is not a "
                                 "Prometheus label name (DCGM's are Hostname, gpu, UUID, "
                                 "pod, namespace, container, modelName)")
            values = (value,) if isinstance(value, str) else tuple(value) if isinstance(
                value, (list, tuple)) else None
            if not values or not all(isinstance(v, str) and v for v in values):
                raise ValueError(f"Endpoint(gpus={{{label!r}: ...}}) for {url}: got "
                                 f"{value!r}; expected a label value or a list of them")
            clean[label] = values
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ValueError(f"Endpoint(name=...): got {name!r}; expected a short name")
        self.url = url
        self.key: tuple[str, int | None] = server
        self.gpus = clean
        self.name = name or f"{server[0]}:{server[1]}"

    def __repr__(self) -> str:
        return f"Endpoint({self.url!r}, gpus={self.gpus!r}, name={self.name!r})"


def endpoints(items: Iterable[Endpoint | Mapping[str, Any]]) -> list[Endpoint]:
    """Endpoints from `Endpoint` objects or mappings of its arguments (configuration files);
    two entries for one address are refused."""
    out: list[Endpoint] = []
    seen: dict[tuple[str, int | None], str] = {}
    for item in items:
        if isinstance(item, Mapping):
            unknown = set(item) - {"url", "gpus", "name"}
            if unknown:
                raise ValueError(f"endpoints: unknown key(s) {sorted(unknown)}; expected "
                                 "url, gpus and optionally name")
            item = Endpoint(item.get("url") or "", item.get("gpus") or {}, item.get("name"))
        elif not isinstance(item, Endpoint):
            raise ValueError(f"endpoints: got {item!r}; expected Endpoint(url, gpus=...)")
        if item.key in seen:
            raise ValueError(f"endpoints: {item.url} and {seen[item.key]} are the same "
                             "address; give each endpoint once")
        seen[item.key] = item.url
        out.append(item)
    if not out:
        raise ValueError("endpoints: got none; expected at least one Endpoint(url, gpus=...)")
    return out


def promql_selector(ep: Endpoint) -> str:
    """The PromQL label matchers of an endpoint's GPUs (values escaped; lists as regex)."""
    parts = []
    for label, values in sorted(ep.gpus.items()):
        if len(values) == 1:
            parts.append(f'{label}="{escape_label_value(values[0])}"')
        else:
            alt = "|".join(re.escape(v) for v in values)
            parts.append(f'{label}=~"{escape_label_value(alt)}"')
    return "{" + ",".join(parts) + "}"


def matches(ep: Endpoint, labels: Mapping[str, str]) -> bool:
    """Whether a series with `labels` is one of the endpoint's GPUs."""
    return all(labels.get(k) in v for k, v in ep.gpus.items())
