"""Helpers shared by the HTTP-level integrations (requests, huggingface_hub, litellm).

Two small jobs: name the provider behind an endpoint URL (through `_openai_hosts`, plus
Hugging Face's own hosts), and read an OpenAI-style ``usage`` block into a `Usage`.
Provider names are cached per URL (cleared when the configuration changes): naming one
from scratch costs about 10 microseconds, too much to pay on every call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .. import _config
from .._usage import Usage
from ._openai_hosts import provider_for_host

__all__ = ["HF_HOSTS", "add_openai_usage", "field", "provider_for_url"]

#: Hugging Face hosts (a key also matches subdomains) not in `_openai_hosts.KNOWN_HOSTS`.
HF_HOSTS = ("huggingface.co", "huggingface.cloud", "hf.space")
_HF_SUFFIXES = tuple("." + h for h in HF_HOSTS)
_cache: dict[str, str] = {}


def _clear(_cfg: object = None) -> None:
    _cache.clear()


_config.on_change(_clear)


def field(obj: Any, name: str) -> Any:
    """`obj.name` or `obj[name]` (SDK objects, pydantic models and plain dicts alike)."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def provider_for_url(url: str) -> str:
    """Provider name for an endpoint URL: ``provider_hosts``, known services, else self-hosted.

    Loopback, private and unknown hosts are "self-hosted" (a deployment of one's own);
    Hugging Face hosts (Inference Endpoints, Spaces, the router) are "huggingface".
    """
    name = _cache.get(url)
    if name is None:
        if len(_cache) > 256:
            _cache.clear()
        name = _cache[url] = _provider_for_url(url)
    return name


def _provider_for_url(url: str) -> str:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return "self-hosted"
    name = provider_for_host(host, "")
    if name:
        return name
    if host in HF_HOSTS or host.endswith(_HF_SUFFIXES):
        return "huggingface"
    return "self-hosted"


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
