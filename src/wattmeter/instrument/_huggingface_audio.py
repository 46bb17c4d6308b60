"""Audio duration read off the bytes a transcription request sends, without decoding them.

WAV and FLAC headers state the duration exactly (sample rate and sample count); any other
format is approximated from its size at an assumed bit rate, `ASSUMED_BITRATE`, and the
caller adds a warning saying so. Only the first bytes of a file are read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["ASSUMED_BITRATE", "audio_seconds"]

#: Bits per second assumed for compressed audio of unknown format (MP3/AAC/Opus at 128 kbit/s,
#: a common default of encoders; a guess, hence the warning).
ASSUMED_BITRATE = 128_000

_HEAD = 4096  # bytes read from a file to find the header


def _wav_seconds(head: bytes, size: int) -> float | None:
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, byte_rate, data_size = 12, 0, None
    while pos + 8 <= len(head):
        cid, clen = head[pos:pos + 4], int.from_bytes(head[pos + 4:pos + 8], "little")
        if cid == b"fmt " and pos + 16 <= len(head):
            byte_rate = int.from_bytes(head[pos + 16:pos + 20], "little")
        elif cid == b"data":
            data_size = min(clen, max(0, size - pos - 8))
            break
        pos += 8 + clen + (clen & 1)
    if not byte_rate:
        return None
    if data_size is None:
        data_size = max(0, size - 44)
    return data_size / byte_rate


def _flac_seconds(head: bytes) -> float | None:
    # fLaC, then the STREAMINFO block: 4-byte block header, 10 bytes of sizes, then 20 bits
    # of sample rate, 3 of channels, 5 of bits per sample and 36 of total samples.
    if len(head) < 26 or head[:4] != b"fLaC":
        return None
    bits = int.from_bytes(head[18:26], "big")
    rate = bits >> 44
    total = bits & ((1 << 36) - 1)
    return total / rate if rate and total else None


def _head_and_size(audio: Any) -> tuple[bytes, int] | None:
    if isinstance(audio, (bytes, bytearray, memoryview)):
        data = bytes(audio[:_HEAD])
        return data, len(audio)
    if isinstance(audio, (str, Path)):
        text = str(audio)
        if text.startswith(("http://", "https://")):
            return None
        with open(text, "rb") as fh:
            return fh.read(_HEAD), os.fstat(fh.fileno()).st_size
    name = getattr(audio, "name", None)  # an open file: read its header from the path
    if isinstance(name, str) and os.path.isfile(name):
        with open(name, "rb") as fh:
            return fh.read(_HEAD), os.fstat(fh.fileno()).st_size
    return None


def audio_seconds(audio: Any) -> tuple[float | None, bool]:
    """(seconds, exact) for audio given as bytes, a path or an open file; (None, False) if unknown.

    ``exact`` is True for WAV/FLAC (from the header) and False for the size approximation.
    URLs are not fetched.
    """
    try:
        found = _head_and_size(audio)
    except OSError:
        return None, False
    if found is None:
        return None, False
    head, size = found
    seconds = _wav_seconds(head, size)
    if seconds is None:
        seconds = _flac_seconds(head)
    if seconds is not None:
        return seconds, True
    return size * 8 / ASSUMED_BITRATE, False
