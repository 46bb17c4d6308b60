"""Audio duration from an uploaded file's size, for transcriptions that do not report it.

A documented approximation: compressed formats (mp3, m4a, mp4, mpeg, mpga, webm, ogg,
opus, flac) at 128 kbit/s = 16,000 bytes a second, the common speech encoding rate;
WAV/PCM at 16 kHz 16-bit mono = 32,000 bytes a second, the rate speech recognisers
resample to. Calls estimated this way carry a warning in their footprint.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["BYTES_PER_SECOND", "DEFAULT_BYTES_PER_SECOND", "audio_seconds", "file_size"]

DEFAULT_BYTES_PER_SECOND = 16_000
#: Bytes a second of audio by file extension.
BYTES_PER_SECOND = {"wav": 32_000, "pcm": 32_000}


def file_size(file: Any) -> tuple[int | None, str]:
    """(size in bytes or None, file name or "") of an SDK file argument, without reading it."""
    name = ""
    if isinstance(file, tuple) and len(file) >= 2:
        name = file[0] if isinstance(file[0], str) else ""
        file = file[1]
    if isinstance(file, (bytes, bytearray, memoryview)):
        return len(file), name
    if isinstance(file, (str, os.PathLike)):
        try:
            return os.path.getsize(file), name or os.fspath(file)
        except OSError:
            return None, name
    name = name or str(getattr(file, "name", "") or "")
    getbuffer = getattr(file, "getbuffer", None)
    if getbuffer is not None:
        return len(getbuffer()), name
    try:
        return os.fstat(file.fileno()).st_size, name
    except (AttributeError, OSError, ValueError):
        return None, name


def audio_seconds(file: Any) -> float | None:
    """Seconds of audio in `file`, estimated from its size and extension (None if unknown)."""
    size, name = file_size(file)
    if size is None:
        return None
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return size / BYTES_PER_SECOND.get(ext, DEFAULT_BYTES_PER_SECOND)
