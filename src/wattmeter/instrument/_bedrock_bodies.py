"""Amazon Bedrock model ids and InvokeModel body formats, read for token counts.

Bedrock names a model by its base id (``anthropic.claude-3-haiku-20240307-v1:0``), an
inference profile (``us.``/``eu.``/``apac.``/``global.`` + base id), or an ARN of either
(``...:foundation-model/<id>``, ``...:inference-profile/<profile>``). InvokeModel bodies
are each model family's own format (AWS Bedrock user guide, "Inference request parameters
and response fields for foundation models", 2025): Anthropic Messages ``usage``, Meta Llama
``prompt_token_count``/``generation_token_count``, Amazon Nova ``usage.inputTokens``,
Amazon Titan ``inputTextTokenCount``/``results[].tokenCount``; streamed chunks end with
``amazon-bedrock-invocationMetrics`` (input and output token counts).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from .._usage import Usage

__all__ = ["body_usage", "chunk_usage", "count", "model_name", "operation_for", "text_chars"]

#: Geography prefixes of cross-region inference profiles (AWS Bedrock user guide, 2025).
_GEOGRAPHIES = frozenset({"us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"})
#: A base id's version suffix: ``-v1:0``, ``-v2:0:200k``, ``:0``.
_VERSION = re.compile(r"(-v\d+(:\d+)?(:[0-9a-z]+)?|:\d+)$")
#: Largest token count believed from a response (a larger one is a bug, not a call).
_MAX = 100_000_000
_METRICS = "amazon-bedrock-invocationMetrics"


def count(value: Any) -> int | None:
    """A token count from a body or header: a non-negative int (or digit string), else None."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 12:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX:
        return None
    return value


def model_name(model_id: Any) -> str:
    """The model a Bedrock ``modelId`` names (see `_model_name`); cached per id string."""
    return _model_name(model_id) if isinstance(model_id, str) else "unknown"


@functools.lru_cache(maxsize=256)
def _model_name(model_id: str) -> str:
    """The model a Bedrock ``modelId`` names, without vendor, geography or version.

    ``us.anthropic.claude-3-5-haiku-20241022-v1:0`` -> ``claude-3-5-haiku-20241022``; an
    ARN of a foundation model or inference profile is read the same way; an application
    inference profile or provisioned model ARN (an opaque id) is named by its resource
    (``application-inference-profile/a1b2c3``), without account and region.
    """
    if not isinstance(model_id, str) or not model_id:
        return "unknown"
    name = model_id
    if name.startswith("arn:"):
        fields = name.split(":", 5)  # arn:partition:service:region:account:resource
        kind, _, rest = (fields[5] if len(fields) == 6 else "").partition("/")
        if kind not in ("foundation-model", "inference-profile") or not rest:
            # An opaque id: named without the account and region.
            return (fields[5] if len(fields) == 6 else "unknown")[:200]
        name = rest
    geo, dot, rest = name.partition(".")
    if dot and geo in _GEOGRAPHIES and "." in rest:
        name = rest
    _vendor, dot, rest = name.partition(".")
    if dot and rest:
        name = rest
    return _VERSION.sub("", name) or name


def operation_for(model_id: Any) -> str:
    """``embeddings`` for embedding models (Titan/Cohere/Nova embed), else ``chat``."""
    return "embeddings" if isinstance(model_id, str) and "embed" in model_id else "chat"


def _set(usage: Usage, inp: Any, out: Any) -> bool:
    i, o = count(inp), count(out)
    if i is None and o is None:
        return False
    if i is not None:
        usage.input_tokens = i
    if o is not None:
        usage.output_tokens = o
    return True


def body_usage(usage: Usage, body: Any) -> bool:
    """Fill `usage` from a parsed InvokeModel response body; False when it has no counts."""
    if not isinstance(body, dict):
        return False
    u = body.get("usage")
    if isinstance(u, dict):
        if "input_tokens" in u or "output_tokens" in u:  # Anthropic Messages
            read = count(u.get("cache_read_input_tokens")) or 0
            written = count(u.get("cache_creation_input_tokens")) or 0
            found = _set(usage, (count(u.get("input_tokens")) or 0) + read + written,
                         u.get("output_tokens"))
            usage.cached_input_tokens = read
            return found
        if "inputTokens" in u or "outputTokens" in u:  # Amazon Nova
            return _set(usage, u.get("inputTokens"), u.get("outputTokens"))
    if "prompt_token_count" in body or "generation_token_count" in body:  # Meta Llama
        return _set(usage, body.get("prompt_token_count"), body.get("generation_token_count"))
    if "inputTextTokenCount" in body:  # Amazon Titan text and embeddings
        results = body.get("results")
        out = sum(count(r.get("tokenCount")) or 0 for r in results
                  if isinstance(r, dict)) if isinstance(results, list) else 0
        return _set(usage, body.get("inputTextTokenCount"), out)
    return False


def text_chars(obj: Any) -> int:
    """Characters of generated text in a response body or streamed chunk (any family)."""
    if isinstance(obj, dict):
        total = 0
        for key, value in obj.items():
            if key in ("text", "generation", "outputText", "completion") and isinstance(
                    value, str):
                total += len(value)
            elif isinstance(value, (dict, list)) and key not in ("usage", _METRICS):
                total += text_chars(value)
        return total
    if isinstance(obj, list):
        return sum(text_chars(v) for v in obj)
    return 0


def chunk_usage(usage: Usage, chunk: Any, seen: list[bool]) -> None:
    """Add one streamed InvokeModel chunk; ``seen`` is [input counted, output counted]."""
    if not isinstance(chunk, dict):
        return
    metrics = chunk.get(_METRICS)
    if isinstance(metrics, dict) and _set(usage, metrics.get("inputTokenCount"),
                                          metrics.get("outputTokenCount")):
        seen[0] = seen[1] = True
        return
    kind = chunk.get("type")
    if kind == "message_start":  # Anthropic
        message = chunk.get("message")
        if isinstance(message, dict) and body_usage(usage, message):
            seen[0] = True
    elif kind == "message_delta":
        u = chunk.get("usage")
        if isinstance(u, dict) and _set(usage, None, u.get("output_tokens")):
            seen[1] = True
    elif "generation_token_count" in chunk:  # Llama: the prompt count comes first, once
        if _set(usage, chunk.get("prompt_token_count"), None):
            seen[0] = True
        if _set(usage, None, chunk.get("generation_token_count")):
            seen[1] = True
    elif isinstance(chunk.get("metadata"), dict):  # Nova
        u = chunk["metadata"].get("usage")
        if isinstance(u, dict) and _set(usage, u.get("inputTokens"), u.get("outputTokens")):
            seen[0] = seen[1] = True
