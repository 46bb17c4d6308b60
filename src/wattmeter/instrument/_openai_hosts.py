"""Which service answers an OpenAI-style client: a provider name from its base URL host.

OpenAI's wire format is spoken by many services (vLLM, Ollama, TGI, Groq, Together,
DeepSeek, Mistral...), so the provider recorded for a call comes from the client's base
URL: known public hosts by name, loopback and private addresses as ``"self-hosted"``, and
the ``provider_hosts`` option (host -> provider, also matching subdomains) above both.
Results, with the host and port for ``server.address`` / ``server.port``, are cached per
base URL object, so a call pays one dict lookup for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import _config
from ._server import Server, server_for_object

__all__ = ["KNOWN_HOSTS", "TARGETS", "client_target", "provider_for_client", "provider_for_host"]

#: Public hosts with a well-known provider name (a key also matches its subdomains).
KNOWN_HOSTS: dict[str, str] = {
    "api.openai.com": "openai",
    "openai.azure.com": "azure",
    "cognitiveservices.azure.com": "azure",
    "services.ai.azure.com": "azure",
    "models.inference.ai.azure.com": "azure",
    "api.groq.com": "groq",
    "api.together.xyz": "together",
    "api.together.ai": "together",
    "api.deepseek.com": "deepseek",
    "api.mistral.ai": "mistral",
    "api.fireworks.ai": "fireworks",
    "openrouter.ai": "openrouter",
    "api.perplexity.ai": "perplexity",
    "api.x.ai": "xai",
    "generativelanguage.googleapis.com": "google",
    "api.anthropic.com": "anthropic",
    "api.cohere.ai": "cohere",
    "api.cohere.com": "cohere",
    "api-inference.huggingface.co": "huggingface",
    "router.huggingface.co": "huggingface",
    "api.cerebras.ai": "cerebras",
    "api.deepinfra.com": "deepinfra",
}

#: id(base URL) -> (the URL, provider, (host, port)): `client_target`'s cache, which the
#: chat endpoint reads itself on every call (a frame fewer, issue 19).
TARGETS: dict[int, tuple[Any, str, Server | None]] = {}


def _clear(_cfg: object = None) -> None:
    TARGETS.clear()


_config.on_change(_clear)


def _lookup(host: str, table: dict[str, str]) -> str | None:
    name = host
    while name:
        found = table.get(name)
        if found is not None:
            return found
        _, dot, name = name.partition(".")
        if not dot:
            return None
    return None


def _is_private(host: str) -> bool:
    if host in ("localhost", "") or host.endswith((".localhost", ".local", ".internal")):
        return True
    import ipaddress

    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return "." not in host  # a bare name like "vllm" on a cluster network
    return ip.is_private or ip.is_loopback or ip.is_link_local


def provider_for_host(host: str, default: str = "self-hosted") -> str:
    """Provider name for a base URL host: ``provider_hosts`` option, known hosts, else `default`.

    Loopback and private hosts not listed in ``provider_hosts`` are ``"self-hosted"``.
    """
    host = host.lower().rstrip(".")
    configured = _config.current().provider_hosts
    if configured:
        found = _lookup(host, {str(k).lower(): str(v) for k, v in configured.items()})
        if found is not None:
            return found
    found = _lookup(host, KNOWN_HOSTS)
    if found is not None:
        return found
    if _is_private(host):
        return "self-hosted"
    return default


def provider_for_client(client: Any, default: str = "self-hosted",
                        classes: Mapping[str, str] | None = None) -> str:
    """Provider name for an SDK client, cached per base URL object.

    `classes` maps client class names to providers (e.g. ``AzureOpenAI`` -> ``"azure"``);
    that wins over the host unless ``provider_hosts`` names the host explicitly.
    """
    return client_target(client, default, classes)[0]


def client_target(client: Any, default: str = "self-hosted",
                  classes: Mapping[str, str] | None = None) -> tuple[str, Server | None]:
    """(provider name, (host, port)) of an SDK client's base URL, cached per URL object;
    the class table applies to the name only (see `provider_for_client`)."""
    url = getattr(client, "_base_url", None)
    key = id(url)
    hit = TARGETS.get(key)
    if hit is not None and hit[0] is url:
        return hit[1], hit[2]
    host = str(getattr(url, "host", "") or "")
    configured = _config.current().provider_hosts
    explicit = _lookup(host.lower(), {str(k).lower(): str(v) for k, v in configured.items()}) \
        if configured else None
    class_provider = classes.get(type(client).__name__) if classes else None
    name = explicit or class_provider or provider_for_host(host, default)
    server = server_for_object(url)
    if len(TARGETS) > 256:
        TARGETS.clear()
    TARGETS[key] = (url, name, server)
    return name, server
