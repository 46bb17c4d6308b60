"""Imagen images and Veo videos through google-genai, and videos metered on completion.

``generate_videos`` returns a long-running operation; the call is kept open (keyed by the
operation's name, at most `MAX_PENDING` of them) and finished when ``operations.get``
returns that operation with ``done=True``: with the clips it produced, or as an error when
the operation failed. What the provider does not say comes from documented defaults:

- Imagen: 4 images per request when ``number_of_images`` is not set, and the output
  size of each aspect ratio at "1K" (1:1 1024x1024, 3:4 896x1280, 4:3 1280x896,
  9:16 768x1408, 16:9 1408x768; "2K" doubles each side). Source: Google Cloud, Vertex AI
  "Imagen API" reference and Gemini API "Generate images using Imagen" (2025).
- Veo: 8-second clips at 24 fps, 720p, 16:9. Source: Gemini API "Generate videos with
  Veo" and Vertex AI "Veo video generation API" reference (2025).

For videos, ``video_seconds`` and ``frames`` are per clip and ``images`` counts the clips.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from .._guard import internal_error, logger
from .._usage import Usage
from ._core import Endpoint, Request
from ._patching import Patch, patch_method
from ._server import Server, server_for_url, stamp

__all__ = ["MAX_PENDING", "ImageEndpoint", "VideoEndpoint", "client_server", "config_value",
           "model_name", "patch_operations", "pending_videos"]

PROVIDER = "google"
#: Video operations waiting for completion; the oldest is recorded from its request beyond.
MAX_PENDING = 1024

IMAGEN_DEFAULT_IMAGES = 4
_IMAGEN_1K = {"1:1": (1024, 1024), "3:4": (896, 1280), "4:3": (1280, 896),
              "9:16": (768, 1408), "16:9": (1408, 768)}
VEO_DEFAULT_SECONDS = 8
VEO_DEFAULT_FPS = 24
_VEO_HEIGHT = {"720p": 720, "1080p": 1080, "4k": 2160}


def model_name(model: Any) -> str:
    """The bare model id: ``models/gemini-2.5-flash`` and Vertex resource names -> the id."""
    name = str(model or "unknown")
    if "models/" in name and not name.startswith("tunedModels/"):
        return name.rsplit("models/", 1)[1] or name
    if name.startswith("google/"):
        return name[len("google/"):]
    return name


def client_server(instance: Any) -> Server | None:
    """(host, port) a ``Models`` instance's client sends to: its base URL (the Gemini API's,
    a regional Vertex AI endpoint, or the caller's ``http_options.base_url``)."""
    options = getattr(getattr(instance, "_api_client", None), "_http_options", None)
    return server_for_url(getattr(options, "base_url", None))


def config_value(config: Any, key: str) -> Any:
    """A field of a config given as a pydantic object or a dict (None when absent)."""
    if config is None:
        return None
    if isinstance(config, dict):
        return config.get(key)
    return getattr(config, key, None)


def _positive(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


class ImageEndpoint(Endpoint):
    """``generate_images`` (Imagen): images counted in the response, size from the request."""

    may_nest = False  # the SDK sends with httpx, which wattmeter doesn't meter
    provider = PROVIDER
    operation = "image"

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        return Request(PROVIDER, model_name(kwargs.get("model")), "image", kwargs,
                       server=client_server(instance))

    def usage(self, response: Any, req: Request) -> Usage:
        config = req.kwargs.get("config")
        generated = response.generated_images if response is not None else None
        count = len(generated) if generated is not None else int(
            config_value(config, "number_of_images") or IMAGEN_DEFAULT_IMAGES)
        ratio = str(config_value(config, "aspect_ratio") or "1:1")
        width, height = _IMAGEN_1K.get(ratio, (1024, 1024))
        if str(config_value(config, "image_size") or "1K").upper() == "2K":
            width, height = width * 2, height * 2
        return Usage(PROVIDER, req.model, "image", images=count, width=width, height=height)


def _video_usage(req: Request, clips: int | None) -> Usage:
    config = req.kwargs.get("config")
    seconds = _positive(config_value(config, "duration_seconds")) or VEO_DEFAULT_SECONDS
    fps = _positive(config_value(config, "fps")) or VEO_DEFAULT_FPS
    height = _VEO_HEIGHT.get(str(config_value(config, "resolution") or "720p").lower(), 720)
    width = height * 16 // 9
    if str(config_value(config, "aspect_ratio") or "16:9") == "9:16":
        width, height = height, width
    if clips is None:
        clips = int(config_value(config, "number_of_videos") or 1)
    return Usage(PROVIDER, req.model, "video", images=clips, width=width, height=height,
                 fps=fps, video_seconds=seconds, frames=round(seconds * fps))


def _clips(operation: Any) -> int | None:
    result = getattr(operation, "result", None) or getattr(operation, "response", None)
    videos = getattr(result, "generated_videos", None)
    return len(videos) if videos is not None else None


_pending: OrderedDict[str, tuple[Any, Request]] = OrderedDict()
_lock = threading.Lock()


def pending_videos() -> int:
    """How many video operations are waiting for their completion to be observed."""
    return len(_pending)


class VideoEndpoint(Endpoint):
    """``generate_videos`` (Veo): the call stays open until the operation is done."""

    may_nest = False  # the SDK sends with httpx, which wattmeter doesn't meter
    provider = PROVIDER
    operation = "video"

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
        return Request(PROVIDER, model_name(kwargs.get("model")), "video", kwargs,
                       server=client_server(instance))

    def usage(self, response: Any, req: Request) -> Usage:
        return _operation_usage(response, req)

    def is_stream(self, response: Any, req: Request) -> bool:
        return not getattr(response, "done", False) and bool(getattr(response, "name", None))

    def wrap_stream(self, response: Any, call: Any, req: Request, is_async: bool) -> Any:
        """Keep the call open under the operation's name; the user gets the operation as is."""
        evicted = None
        with _lock:
            _pending[response.name] = (call, req)
            if len(_pending) > MAX_PENDING:
                evicted = _pending.popitem(last=False)[1]
        if evicted is not None:
            old_call, old_req = evicted
            usage = _video_usage(old_req, None)
            usage.warn("video operation completion was not observed; metered from the request")
            stamp(usage, old_req.server)
            old_call.finish(usage)
        return response


def _operation_usage(operation: Any, req: Request) -> Usage:
    if getattr(operation, "error", None):
        usage = Usage(PROVIDER, req.model, "video", outcome="error")
    else:
        usage = _video_usage(req, _clips(operation))
    stamp(usage, req.server)  # finished here, outside the core, when the operation is done
    return usage


def _completed(operation: Any) -> None:
    """Finish the metered call of a video operation that just reported done."""
    try:
        if not getattr(operation, "done", False):
            return
        with _lock:
            entry = _pending.pop(getattr(operation, "name", None) or "", None)
        if entry is not None:
            call, req = entry
            call.finish(_operation_usage(operation, req))
    except Exception as exc:
        internal_error("google.operation", exc)


def _get_sync(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    result = wrapped(*args, **kwargs)
    if _pending:
        _completed(result)
    return result


async def _get_async(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    result = await wrapped(*args, **kwargs)
    if _pending:
        _completed(result)
    return result


def patch_operations() -> list[Patch]:
    """Watch ``operations.get`` (sync and async) for video operations that completed."""
    patches: list[Patch] = []
    for path, fn in (("Operations.get", _get_sync), ("AsyncOperations.get", _get_async)):
        try:
            patches.append(patch_method("google.genai.operations", path, Endpoint(),
                                        wrapper=fn))
        except (ImportError, AttributeError, KeyError, RuntimeError) as exc:
            logger.info("wattmeter: not metering video completion via %s (%s: %s)", path,
                        type(exc).__name__, exc)
    return patches
