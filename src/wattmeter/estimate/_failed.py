"""The charging rule for failed calls: a failure is charged what its usage shows it produced.

A refusal before generation (a 4xx, a 429, a timeout with nothing back) produced nothing
and is charged nothing; a failure mid-generation (a cut stream, a timeout after partial
output) is charged the prefill plus what was produced, read off the usage the same way a
success is. docs/failure-rules.md gives the rule per modality and entry point.
"""

from __future__ import annotations

from typing import Any

__all__ = ["produced"]


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
