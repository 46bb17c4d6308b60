"""Helpers shared by the HTTP-level integrations (requests, huggingface_hub, litellm).

Two small jobs: name the provider behind an endpoint URL (a configured ``provider_hosts``
mapping first, then well-known hosts, loopback and private addresses as "self-hosted"),
and read an OpenAI-style ``usage`` block, object or dict, into a `Usage`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .._usage import Usage

__all__ = ["KNOWN_HOSTS", "add_openai_usage", "field", "provider_for_host", "provider_for_url"]

#: Host (or host suffix after a dot) -> provider name, for OpenAI-compatible services.
KNOWN_HOSTS: dict[str, str] = {
    "api.openai.com": "openai",
    "openai.azure.com": "azure",
    "api.anthropic.com": "anthropic",
    "api.groq.com": "groq",
    "api.together.xyz": "together",
    "api.together.ai": "together",
    "api.deepseek.com": "deepseek",
    "api.mistral.ai": "mistral",
    "api.fireworks.ai": "fireworks",
    "openrouter.ai": "openrouter",
    "api.perplexity.ai": "perplexity",
    "api.x.ai": "xai",
    "api.cerebras.ai": "cerebras",
    "generativelanguage.googleapis.com": "google",
    "huggingface.co": "huggingface",
    "hf.space": "huggingface",
    "huggingface.cloud": "huggingface",
}


def field(obj: Any, name: str) -> Any:
    """`obj.name` or `obj[name]` (SDK objects, pydantic models and plain dicts alike)."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _configured_hosts() -> Mapping[str, str]:
    from .._config import current

    return getattr(current(), "provider_hosts", None) or {}


def _is_local(host: str) -> bool:
    if host in ("localhost", "0.0.0.0", "::1") or host.endswith((".local", ".internal",
                                                                  ".localhost")):
        return True
    if host.startswith(("127.", "10.", "192.168.", "169.254.")):
        return True
    if host.startswith("172."):
        second = host.split(".")[1] if host.count(".") >= 3 else ""
        return second.isdigit() and 16 <= int(second) <= 31
    return "." not in host  # a bare service name (docker compose, kubernetes)


def provider_for_host(host: str) -> str:
    """Provider name for a host: ``provider_hosts`` option, known services, else self-hosted.

    Loopback, private and bare service names are "self-hosted"; so is any unknown public
    host (a deployment of one's own) unless ``provider_hosts`` names it.
    """
    host = host.lower().strip("[]")
    configured = _configured_hosts()
    if host in configured:
        return str(configured[host])
    if not host or _is_local(host):
        return "self-hosted"
    if host in KNOWN_HOSTS:
        return KNOWN_HOSTS[host]
    for suffix, name in KNOWN_HOSTS.items():
        if host.endswith("." + suffix):
            return name
    return "self-hosted"


def provider_for_url(url: str) -> str:
    """Provider name for an endpoint URL; ``provider_hosts`` may key on ``host:port`` too."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = parts.netloc.rpartition("@")[2].lower()
    except ValueError:
        return "self-hosted"
    configured = _configured_hosts()
    if netloc in configured:
        return str(configured[netloc])
    return provider_for_host(host)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def add_openai_usage(usage: Usage, block: Any) -> bool:
    """Fill `usage` from an OpenAI-style usage block; False when there is none.

    ``prompt_tokens`` already include cached tokens and ``completion_tokens`` include
    reasoning tokens, which is wattmeter's convention too. Embeddings report only
    ``prompt_tokens`` (and ``total_tokens``).
    """
    if block is None:
        return False
    prompt = field(block, "prompt_tokens")
    completion = field(block, "completion_tokens")
    if prompt is None and completion is None:
        prompt = field(block, "input_tokens")  # Responses-style blocks
        completion = field(block, "output_tokens")
        if prompt is None and completion is None:
            return False
    usage.input_tokens = _int(prompt)
    usage.output_tokens = _int(completion)
    details = field(block, "prompt_tokens_details") or field(block, "input_tokens_details")
    usage.cached_input_tokens = _int(field(details, "cached_tokens"))
    out_details = (field(block, "completion_tokens_details")
                   or field(block, "output_tokens_details"))
    usage.reasoning_tokens = _int(field(out_details, "reasoning_tokens"))
    return True
