"""A LiteLLM ``CustomLogger`` that meters every call a LiteLLM proxy makes, by team.

Name it in the proxy's ``config.yaml``::

    litellm_settings:
      callbacks: wattmeter.integrations.litellm_proxy.handler

Each successful or failed call (sync, async, streamed: LiteLLM hands the logger the
assembled response once a stream ends) is recorded once through the meter core, under the
team of the proxy key (its team alias, else team id) and the bounded labels
``litellm_key_alias``, ``litellm_user`` and ``litellm_end_user``. Usage comes from the
response's usage block, else from LiteLLM's standard logging payload. When
``wattmeter.instrument("litellm")`` is active in the same process, the calls it already
meters (completion, embedding, image generation) are left to it, so nothing counts twice.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from .._attribution import attribute
from .._guard import internal_error
from .._meter import record, wire
from .._usage import Usage
from ..instrument import instrumented
from ..instrument._requests_common import add_openai_usage, field
from ..instrument.litellm import DEFAULT_IMAGE_SIZE, provider_name

__all__ = ["LABELS", "WattmeterLogger", "handler"]

#: LiteLLM call type -> wattmeter operation; other call types (moderation, rerank, file
#: and batch management...) generate nothing and are not metered.
_OPERATIONS = {
    "completion": "chat", "acompletion": "chat",
    "responses": "chat", "aresponses": "chat", "anthropic_messages": "chat",
    "text_completion": "completion", "atext_completion": "completion",
    "embedding": "embeddings", "aembedding": "embeddings",
    "image_generation": "image", "aimage_generation": "image",
    "speech": "speech", "aspeech": "speech",
    "transcription": "transcription", "atranscription": "transcription",
}
#: Call types `wattmeter.instrument("litellm")` meters itself when it is active.
_INSTRUMENTED = frozenset({"completion", "acompletion", "embedding", "aembedding",
                           "image_generation", "aimage_generation"})
#: wattmeter label -> the proxy's metadata keys, first present wins.
LABELS: dict[str, tuple[str, ...]] = {
    "litellm_key_alias": ("user_api_key_alias",),
    "litellm_user": ("user_api_key_user_id",),
    "litellm_end_user": ("user_api_key_end_user_id",),
}
_TEAM_KEYS = ("user_api_key_team_alias", "team_alias", "user_api_key_team_id", "team_id")
#: Longest team or label value kept; longer ones are cut (they are names, not payloads).
MAX_VALUE_CHARS = 128
#: Recently recorded events: LiteLLM may call both the sync and the async hook of one call.
_RECENT = 4096
#: Largest token count believed from a payload (a larger one is a bug, not a call).
_MAX_TOKENS = 100_000_000


def _name(value: Any) -> str | None:
    """A team or label value from the proxy's metadata: a non-empty string, trimmed."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value).strip()
    return text[:MAX_VALUE_CHARS] if text else None


def _count(value: Any) -> int:
    """A token count from a payload: a non-negative int within reason, else 0."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_TOKENS:
        return 0
    return value


def attribution(payload: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
    """(team, labels) from a standard logging payload's metadata and end user."""
    meta = payload.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    team = next((t for t in (_name(meta.get(k)) for k in _TEAM_KEYS) if t), None)
    labels: dict[str, str] = {}
    for label, keys in LABELS.items():
        value = next((v for v in (_name(meta.get(k)) for k in keys) if v), None)
        if value is None and label == "litellm_end_user":
            value = _name(payload.get("end_user"))
        if value is not None:
            labels[label] = value
    return team, labels


def _model(payload: Mapping[str, Any], provider: str | None) -> str:
    model = _name(payload.get("model")) or "unknown"
    if provider and model.startswith(provider + "/"):
        model = model[len(provider) + 1:]
    return model


def usage_for(payload: Mapping[str, Any], response: Any, failed: bool) -> Usage | None:
    """The `Usage` of one proxied call, or None when its call type generates nothing."""
    operation = _OPERATIONS.get(str(payload.get("call_type")))
    if operation is None:
        return None
    llm_provider = _name(payload.get("custom_llm_provider"))
    usage = Usage(provider_name(llm_provider, payload.get("api_base")),
                  _model(payload, llm_provider), operation)
    if failed:
        usage.outcome = "error"
        return usage
    response_model = field(response, "model")
    if isinstance(response_model, str) and response_model:
        usage.response_model = response_model[:MAX_VALUE_CHARS]
    if operation == "image":
        data = field(response, "data")
        usage.images = len(data) if isinstance(data, list) and data else 1
        usage.width, usage.height = DEFAULT_IMAGE_SIZE
        return usage
    block = field(response, "usage")
    if not (block is not None and add_openai_usage(usage, block)):
        usage.input_tokens = _count(payload.get("prompt_tokens"))
        usage.output_tokens = _count(payload.get("completion_tokens"))
    for name in ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens"):
        setattr(usage, name, _count(getattr(usage, name)))
    if operation == "embeddings":
        usage.output_tokens = 0
    return usage


class WattmeterLogger(CustomLogger):
    """Records each LiteLLM call once, attributed to the proxy key's team and labels."""

    def __init__(self) -> None:
        super().__init__()
        self._recent: OrderedDict[tuple[str, bool, int], Any] = OrderedDict()
        self._lock = threading.Lock()
        try:
            wire()  # start /metrics (metrics_port) and the ledger when the proxy loads us
        except Exception as exc:
            internal_error("litellm_proxy.wire", exc)

    def _first(self, kwargs: Mapping[str, Any], payload: Mapping[str, Any], start_time: Any,
               failed: bool) -> bool:
        """True the first time this event (one call's success, or its failure) is seen.

        The call id alone is no identity: the proxy takes it from the client's
        ``x-litellm-call-id`` header, so a client could make every request look like a
        repeat. The event is the call id together with the identity of the start-time
        object LiteLLM made for this call (both hooks of one call get the same object; each
        request gets its own), held here so its id cannot be reused while remembered.
        """
        call_id = kwargs.get("litellm_call_id") or payload.get("litellm_call_id")
        if not isinstance(call_id, str) or not call_id:
            return True
        stamp = kwargs.get("start_time", start_time)
        if stamp is None or isinstance(stamp, (int, float, str)):
            stamp = start_time
        key = (call_id, failed, id(stamp))
        with self._lock:
            if key in self._recent:
                return False
            self._recent[key] = stamp
            if len(self._recent) > _RECENT:
                self._recent.popitem(last=False)
            return True

    def _record(self, kwargs: Any, response: Any, failed: bool, start_time: Any) -> None:
        try:
            if not isinstance(kwargs, Mapping):
                return
            payload = kwargs.get("standard_logging_object")
            payload = payload if isinstance(payload, Mapping) else {}
            call_type = str(payload.get("call_type") or kwargs.get("call_type") or "")
            if not payload.get("call_type"):
                payload = {**payload, "call_type": call_type}
            if call_type in _INSTRUMENTED and "litellm" in instrumented():
                return  # wattmeter.instrument("litellm") meters this call in-process
            usage = usage_for(payload, response, failed)
            if usage is None or not self._first(kwargs, payload, start_time, failed):
                return
            team, labels = attribution(payload)
            with attribute(team, **labels):
                record(usage)
        except Exception as exc:
            internal_error("litellm_proxy.record", exc)

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                          end_time: Any) -> None:
        self._record(kwargs, response_obj, False, start_time)

    def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                          end_time: Any) -> None:
        self._record(kwargs, response_obj, True, start_time)

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                      end_time: Any) -> None:
        self._record(kwargs, response_obj, False, start_time)

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                      end_time: Any) -> None:
        self._record(kwargs, response_obj, True, start_time)


#: The instance to name in the proxy's config.yaml.
handler = WattmeterLogger()
