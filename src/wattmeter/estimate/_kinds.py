"""What kind of physics a model takes, and the requests its coefficients are built at.

A model's modality and architecture pick its kind (chat, embeddings, diffusion, an
autoregressive image, speech, a Whisper-style or a language-model transcriber); each kind
has a reference request, at which `_coefficients.build` computes the uncertainty ratios,
and the defaults a call that gives nothing takes.
"""

from __future__ import annotations

from . import _diffusion
from ._physics import constants
from ._resolve import Subject

__all__ = ["DECODER_KINDS", "assumed_spread", "audio_tokens", "kind_of", "realtime",
           "reference_request", "request_defaults", "request_tokens"]


#: Kinds served as an autoregressive decoder: chat, autoregressive images, speech out of
#: audio tokens, speech read by a language model (gpt-4o-transcribe). A provider fleet
#: serves them with its physics (`_regime.provider_text`), and a replica of unknown
#: deployment draws its GPU, count and batch alike for all of them. Whisper-style
#: encoder-decoders keep their own physics.
DECODER_KINDS = frozenset(("text", "ar-image", "speech", "stt-llm"))


def kind_of(s: Subject) -> str:
    """The physics a model takes, from its modality and architecture."""
    m = s.modality
    if m == "image" and s.architecture == "autoregressive":
        return "ar-image"
    if m in ("text", "embeddings", "image", "video", "speech"):
        return {"text": "text", "embeddings": "embed", "image": "diffusion",
                "video": "diffusion", "speech": "speech"}[m]
    return "stt" if s.architecture == "encoder-decoder" else "stt-llm"


def request_defaults(kind: str, s: Subject) -> tuple[float, float, float, float, float]:
    """(width, height, steps or image tokens, frames, fps) a call that gives none takes."""
    d = s.defaults or {}
    if kind == "ar-image":
        ki = constants("image_tokens")
        w, h = float(d.get("width", 1024)), float(d.get("height", 1024))
        tokens = d.get("image_tokens") or ki["tokens_per_image"] * w * h / ki["reference_pixels"]
        return (w, h, float(tokens), 0.0, 0.0)
    if kind != "diffusion":
        return (0.0, 0.0, 0.0, 0.0, 0.0)
    fam = _diffusion.family(s.family, s.modality)
    video = s.modality == "video"
    fps = float(d.get("fps", 16.0 if video else 1.0))
    frames = float(d.get("frames", 0) or (d.get("seconds", 5.0) * fps + 1 if video else 1.0))
    return (float(d.get("width", 1280 if video else 1024)),
            float(d.get("height", 720 if video else 1024)),
            float(d.get("steps", fam.default_steps)), frames, fps)


def reference_request(kind: str, d: tuple[float, ...]) -> tuple[float, ...]:
    """A typical request of each kind, at which the uncertainty ratios are computed."""
    w, h, st, fr, _ = d
    if kind == "ar-image":  # a short prompt and one default image
        return (float(constants("image_tokens")["prompt_tokens"]), 0.0, 0.0, w, h, st, 0.0,
                1.0, 0.0, 0.0)
    return (1000.0, 0.0, 300.0, w, h, st, fr, 1.0, 60.0 if kind.startswith("stt") else 20.0,
            300.0)


def assumed_spread(kind: str, s: Subject) -> tuple[float, float] | None:
    """Range of the per-call quantity assumed when a call does not give it (image tokens of
    an autoregressive image model: its quality; a closed diffusion model's steps)."""
    d = s.defaults or {}
    if kind == "ar-image":
        lo, hi = d.get("image_tokens_low"), d.get("image_tokens_high")
    elif kind == "diffusion" and "steps" not in d:
        fam = _diffusion.family(s.family, s.modality)
        lo, hi = fam.steps_low, fam.steps_high
    else:
        return None
    if not lo or not hi or not 0 < lo < hi:
        return None
    return float(lo), float(hi)


def audio_tokens(kind: str, uncached: float, out: float, seconds: float,
                 chars: float) -> tuple[float, float]:
    """(uncached prompt, generated) tokens of a speech or transcription request: speech
    reads its text (characters / 4) and emits audio tokens; a language-model transcriber
    reads audio tokens and the prompt; a Whisper decoder reads the encoder by
    cross-attention (no prompt)."""
    ks = constants("speech")
    if kind == "speech":
        return chars / 4.0, seconds * ks["audio_tokens_per_second"]
    n_out = max(out, seconds * ks["text_tokens_per_second"])
    if kind == "stt":
        return 0.0, n_out
    return seconds * ks["audio_input_tokens_per_second"] + uncached, n_out


def request_tokens(kind: str, ref: tuple[float, ...]) -> tuple[float, float]:
    """(prompt, generated) tokens of a decoder kind's request, as `components` counts them."""
    uncached, cached, out, _, _, steps, _, items, seconds, chars = ref
    if kind in ("speech", "stt", "stt-llm"):
        n_in, n_out = audio_tokens(kind, uncached, out, seconds, chars)
        return n_in + (cached if kind == "stt-llm" else 0.0), n_out
    if kind == "ar-image":
        return uncached + cached, items * steps
    return uncached + cached, out


def realtime(kind: str, draw: tuple[float, float, float]) -> tuple[float, float, float]:
    """A fleet draw for this kind: speech is made at least as fast as it is played (its
    audio tokens per second), whatever the fleet's per-user speed for text."""
    if kind != "speech":
        return draw
    floor = float(constants("speech")["audio_tokens_per_second"])
    return (max(draw[0], floor), draw[1], draw[2])
