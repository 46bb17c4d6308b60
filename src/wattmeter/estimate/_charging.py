"""Charging rules of a metered call beyond its physics: failed calls and the per-call ceiling.

A failure is charged what its usage shows it produced. A refusal before generation (a
4xx, a 429, a timeout with nothing back) produced nothing and is charged nothing; a
failure mid-generation (a cut stream, a timeout after partial output) is charged the
prefill plus what was produced, read off the usage the same way a success is. And no
one call is charged more than a node draws in an hour, whatever its usage reports.
docs/failure-rules.md gives the rules per modality and entry point.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ceiling_warning", "produced"]


def _positive(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and value > 0)


def produced(kind: str, usage: Any, output_tokens: int, reasoning_tokens: int) -> bool:
    """True when a failed call's usage shows output, so its work is charged; False when it
    shows none (then the call is charged nothing).

    Per coefficient kind (`_coefficients.Coef.kind`): token generators (text, audio-in
    LLMs, autoregressive images) and speech-to-text show output tokens; speech shows audio
    seconds; diffusion shows finished images, frames, seconds of video or denoising steps
    done; embeddings are all or nothing (a failed call returned no vector).
    """
    if kind in ("text", "stt-llm", "stt"):
        return output_tokens > 0 or reasoning_tokens > 0
    if kind == "ar-image":
        return output_tokens > 0 or _positive(usage.images)
    if kind == "diffusion":
        return (_positive(usage.images) or _positive(usage.steps) or _positive(usage.frames)
                or _positive(usage.video_seconds))
    if kind == "speech":
        return _positive(usage.audio_seconds)
    return False


def ceiling_warning(server_j: float, ceiling_j: float) -> str:
    """The warning of a call whose usage implies `server_j` joules, charged `ceiling_j`."""
    return (f"reported usage implies {server_j / 3.6e6:,.0f} kWh of server energy for one "
            f"call, more than an 8-GPU node draws in an hour; charged that ceiling "
            f"({ceiling_j / 3.6e6:,.1f} kWh)")
