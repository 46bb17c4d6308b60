"""Meter the openai library: chat completions, responses, completions, embeddings, images, audio.

Covers `OpenAI`, `AsyncOpenAI`, `AzureOpenAI` (provider ``"azure"``) and any
OpenAI-compatible base URL (provider from the host, see `_openai_hosts`). Patches go on
the resource classes, so clients made before or after ``instrument()`` are metered, and
``with_raw_response`` / ``with_streaming_response`` (which call the patched method) too.
The ``.stream()`` helpers call ``create`` underneath, so they are not metered twice; their
manager is only proxied so that leaving the ``with`` block finishes the call at once.
"""

from __future__ import annotations

from typing import Any

from ._core import Endpoint
from ._openai_endpoints import (
    Chat,
    Completion,
    Embeddings,
    Images,
    Responses,
    Speech,
    Transcription,
)
from ._openai_proxies import ManagerProxy
from ._patching import Patch, first_importable, try_patch

__all__ = ["DISTRIBUTION", "SUPPORTED", "patch"]

DISTRIBUTION = "openai"
#: Tested with 2.54 (the test suite) and 3.54 (its openai tests in a fresh environment).
SUPPORTED = ("2.20", "4")

_R = "openai.resources."


def _manager_wrapper(is_async: bool) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        manager = wrapped(*args, **kwargs)
        try:
            return ManagerProxy(manager, None, is_async)
        except Exception as exc:
            from .._guard import internal_error

            internal_error("openai.stream_helper", exc)
            return manager

    return wrapper


def patch() -> list[Patch]:
    """Patch every metered openai method (sync and async); returns the undo list."""
    import openai
    from openai import _legacy_response, _response

    streams: tuple[type, ...] = (openai.Stream, openai.AsyncStream)
    raws: tuple[type, ...] = (_legacy_response.LegacyAPIResponse, _response.BaseAPIResponse)
    patches: list[Patch] = []
    # chat.completions was a module, not a package, before 1.6x
    chat = first_importable(_R + "chat.completions.completions", _R + "chat.completions")[len(_R):]
    table: list[tuple[str, str, tuple[str, ...], Any]] = [
        (chat, "Completions", ("create", "parse"), Chat),
        ("responses.responses", "Responses", ("create", "parse"), Responses),
        ("completions", "Completions", ("create",), Completion),
        ("embeddings", "Embeddings", ("create",), Embeddings),
        ("images", "Images", ("generate", "edit", "create_variation"), Images),
        ("audio.speech", "Speech", ("create",), Speech),
        ("audio.transcriptions", "Transcriptions", ("create",), Transcription),
        ("audio.translations", "Translations", ("create",), Transcription),
    ]
    for module, cls, methods, kind in table:
        endpoint = kind(streams, raws)
        for method in methods:
            try_patch(patches, _R + module, f"{cls}.{method}", endpoint, False)
            try_patch(patches, _R + module, f"Async{cls}.{method}", endpoint, True)
    for module, cls in ((chat, "Completions"),
                        ("responses.responses", "Responses")):
        for prefix, is_async in (("", False), ("Async", True)):
            try_patch(patches, _R + module, f"{prefix}{cls}.stream", Endpoint(), is_async,
                      _manager_wrapper(is_async))
    return patches
