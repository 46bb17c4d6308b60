"""Adopting the GenAI span another instrumentation makes inside a metered call.

OpenLLMetry, logfire, or the SDK itself (anthropic 2.x) may open their span inside
wattmeter's wrapper. A span processor on the SDK TracerProvider notices such a span while
our call is pending, puts team and labels on it at once and holds its ``end()`` (keeping
the time asked for) until the footprint is known, so the figures land on that very span.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from .._attribution import current_call
from . import semconv as sc
from ._genai_attributes import attribution_attributes

__all__ = ["CallSpan", "HeldEnd", "is_genai_span", "watch"]

#: Span-name prefixes of GenAI spans made by other instrumentations (lower case).
_GENAI_NAME_PREFIXES = (
    "chat ", "text_completion ", "embeddings ", "generate_content ", "create_agent ",
    "invoke_agent ", "openai.", "anthropic.", "gemini.", "vertexai.", "cohere.",
    "mistralai.", "bedrock.", "groq.", "litellm", "chat completion", "message with",
    "embedding creation", "completion with",
)
_GENAI_KEYS = (sc.GEN_AI_SYSTEM, sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_REQUEST_MODEL,
               sc.GEN_AI_OPERATION_NAME, "llm.request.type")
_GENAI_KEY_SET = frozenset(_GENAI_KEYS)

#: id(provider) -> weak reference, for providers our processor is on (by identity: some,
#: like logfire's, are unhashable dataclasses).
_watched: dict[int, Any] = {}


def is_genai_span(span: Any) -> bool:
    """True when `span` looks made by a GenAI instrumentation (gen_ai.* attribute or name)."""
    attrs = getattr(span, "attributes", None)
    # One pass over the span's keys: `in` on the SDK's mapping raises and catches a
    # KeyError inside for each key it lacks, and most current spans (an HTTP server's)
    # lack all five, on every call's start.
    if attrs and not _GENAI_KEY_SET.isdisjoint(attrs):
        return True
    name = getattr(span, "name", None)
    return isinstance(name, str) and name.lower().startswith(_GENAI_NAME_PREFIXES)


class CallSpan:
    """What a call's span hook keeps on `Call.span`."""

    __slots__ = ("end_ns", "held", "inner", "make", "owned", "parent", "pending", "span",
                 "start_ns", "tracer")

    def __init__(self, span: Any, owned: bool, parent: Any = None, pending: bool = False,
                 make: bool = True, tracer: Any = None) -> None:
        self.span = span
        self.tracer = tracer  # the tracer in force when the call started (makes our span)
        self.owned = owned
        self.parent = parent  # the context our deferred span will be a child of
        self.pending = pending  # our span is made at the end, unless one is adopted
        self.make = make  # False in enrich mode: adopt a span, never make one
        self.start_ns = time.time_ns()
        self.end_ns: int | None = None  # the call's end, when our span ends in the background
        self.inner: Any = None  # a GenAI span another instrumentation made inside the call
        self.held: HeldEnd | None = None  # the inner span's end(), held until we finish


class HeldEnd:
    """Stands in for an adopted span's ``end()`` until the footprint is on it; keeps the time."""

    __slots__ = ("end_time", "ended")

    def __init__(self) -> None:
        self.ended = False
        self.end_time: int | None = None

    def __call__(self, end_time: int | None = None) -> None:
        if not self.ended:
            self.ended = True
            self.end_time = end_time if end_time is not None else time.time_ns()


def watch(provider: Any) -> None:
    """Add our span processor to an SDK `provider` once (no-op for other providers), ahead
    of the processors already there where the SDK's layout allows: its `force_flush` and
    `shutdown` end wattmeter's queued spans (made on the record queue's thread) before
    the exporting processors flush or shut down (a serverless handler's force_flush at the
    end of an invocation, an app's provider.shutdown())."""
    if not hasattr(provider, "add_span_processor"):
        return
    key = id(provider)
    ref = _watched.get(key)
    if ref is None or ref() is not provider:
        proc = _watcher()
        multi = getattr(provider, "_active_span_processor", None)
        lock = getattr(multi, "_lock", None)
        if isinstance(getattr(multi, "_span_processors", None), tuple) and lock is not None:
            with lock:  # the SDK's SynchronousMultiSpanProcessor: a tuple, swapped whole
                multi._span_processors = (proc, *multi._span_processors)  # type: ignore[union-attr]
        else:
            provider.add_span_processor(proc)
        _watched[key] = weakref.ref(provider, lambda dead: _forget(key, dead))


def _forget(key: int, dead: Any) -> None:
    """Drop a collected provider's entry (unless its id already went to a new provider),
    so making TracerProviders one after another leaves nothing behind."""
    if _watched.get(key) is dead:
        _watched.pop(key, None)


def _ours(span: Any) -> bool:
    """True for a span of wattmeter's own tracer: one made by a `flush()` on a thread where
    another call is pending belongs to a finished call, never to the pending one."""
    scope = getattr(span, "instrumentation_scope", None)
    return scope is not None and scope.name == "wattmeter"


def _watcher() -> Any:
    """An SDK span processor noticing a GenAI span that starts inside a pending metered call.

    Built lazily: the SDK is imported only when an SDK TracerProvider is in use.
    """
    from opentelemetry.sdk.trace import SpanProcessor

    class InnerSpanWatcher(SpanProcessor):
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            call = current_call.get()
            if call is None:
                return
            state = call.span
            if type(state) is CallSpan and state.pending and state.inner is None \
                    and is_genai_span(span) and not _ours(span):
                state.inner = span
                span.set_attributes(attribution_attributes(call))
                held = HeldEnd()
                try:
                    span.end = held  # an instance attribute: SDK spans have a __dict__
                    state.held = held
                except AttributeError:
                    pass

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            _drain_queue()
            return True

        def shutdown(self) -> None:
            _drain_queue()

    return InnerSpanWatcher()


def _drain_queue() -> None:
    """End the spans still queued (and hand their records to the sinks) now."""
    from .. import _queue

    try:
        _queue.flush()
    except Exception as exc:  # never break the host's flush or shutdown
        from .._guard import internal_error

        internal_error("span_flush", exc)
