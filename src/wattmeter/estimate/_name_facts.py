"""Facts a model's name states: weight precision, sizes, experts, family and modality.

Hugging Face ids and gateway names carry them by convention (``Qwen3-235B-A22B-FP8``,
``Llama-4-Scout-17B-16E``, ``Meta-Llama-3.1-70B-Instruct-AWQ-INT4``, ``...-Q4_K_M.gguf``,
``Sana_1600M_1024px_diffusers``, ``Wan2.1-T2V-14B``). The resolver lets them override a
registry entry's own (an FP8 checkpoint of a registered BF16 model is that model in FP8) and
reads unknown names with them. Pure string functions; the patterns compile on first use.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

__all__ = ["NameFacts", "describe", "read"]


class NameFacts(NamedTuple):
    """What a name says; None where it says nothing. Sizes in billions of parameters."""

    precision: str | None = None       # canonical: bf16, fp16, fp8, int8, fp4, int4
    precision_tag: str | None = None   # the tag as written: "AWQ", "Q4_K_M", "MXFP4"
    total_b: float | None = None
    active_b: float | None = None
    experts: int | None = None
    family: str | None = None          # a diffusion family (families.json) or a text family
    modality: str | None = None        # text, image, video, speech, transcription, embeddings


#: Quantisation tags (a whole token of the name) -> the canonical precision the physics
#: reads. Weight-only integer formats (AWQ, GPTQ, bitsandbytes NF4, MLX/GGUF k-quants) keep
#: 16-bit matrix multiplies (hardware.json "int4": compute bf16); FP8/FP4 formats run on the
#: tensor cores at that precision. GGUF k-quants by bits per weight (llama.cpp, ggml-quants
#: README, 2024): Q2-Q5 ~2.6-5.7 -> int4, Q6/Q8 ~6.6-8.5 -> int8.
_TAGS = {
    "fp8": "fp8", "fp8-dynamic": "fp8", "f8": "fp8", "e4m3": "fp8", "float8": "fp8",
    "w8a8": "int8", "int8": "int8", "w8a16": "int8", "8bit": "int8", "bnb-8bit": "int8",
    "fp4": "fp4", "nvfp4": "fp4", "mxfp4": "fp4", "float4": "fp4",
    "int4": "int4", "w4a16": "int4", "w4a8": "int4", "awq": "int4", "gptq": "int4",
    "4bit": "int4",
    "bnb-4bit": "int4", "nf4": "int4", "3bit": "int4", "2bit": "int4",
    "bf16": "bf16", "bfloat16": "bf16", "fp16": "fp16", "f16": "fp16", "float16": "fp16",
}
#: Text families worth naming (reported; the text physics reads sizes and shapes, not
#: families). Diffusion families come from families.json.
_TEXT_FAMILIES = ("gpt-oss", "llama", "qwen", "gemma", "mistral", "mixtral", "phi", "deepseek",
                  "nemotron", "granite", "falcon", "olmo", "command", "glm", "kimi", "yi",
                  "internlm", "minimax", "ernie", "hunyuan-a", "smollm", "tinyllama")
#: Words of a name that state its modality (the family states it first when known).
_MODALITY_WORDS = (
    ("video", ("t2v", "i2v", "ti2v", "text-to-video", "image-to-video", "video")),
    ("image", ("t2i", "text-to-image", "diffusion", "diffusers", "txt2img")),
    ("speech", ("tts", "text-to-speech")),
    ("transcription", ("whisper", "asr", "stt", "speech-to-text")),
    ("embeddings", ("embed", "embedding", "embeddings", "bge", "e5", "gte", "minilm")),
)
#: Diffusion family words that name no family of their own.
_GENERIC = frozenset(("dit", "image", "video", "unet", "dit-image", "dit-video", "mmdit"))


#: Billions of parameters per unit of a size in a name.
_UNIT = {"m": 0.001, "b": 1.0, "t": 1000.0}


class _Patterns:
    def __init__(self) -> None:
        c = re.compile
        self.token = c(r"[-_./:\s]+")
        self.sep = c(r"[-_/:\s]+")  # keeps the dot of a size or version: 1.6B, wan2.1
        # 8x7B (experts x expert size), 235B, 1.6B, 1600M, 1T: not inside a word or a version
        self.size = c(r"(?<![a-z0-9.])(?:(\d+)x)?(\d+(?:\.\d+)?)([bmt])(?![a-z0-9])")
        self.active = c(r"(?<![a-z0-9])a(\d+(?:\.\d+)?)b(?![a-z0-9])")
        self.experts = c(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)b[-_](\d+)e(?![a-z0-9])")
        self.gguf = c(r"(?<![a-z0-9])(i?q([2-8])(?:_(?:k|[01sml]|xs|xxs|nl))*)(?![a-z0-9])")
        self.pixels = c(r"(?<![a-z0-9])\d{3,4}px(?![a-z])")


_pat: _Patterns | None = None
#: word alternations, compiled on first use: (diffusion families, text families, modality)
_words: tuple[re.Pattern[str], dict[str, tuple[str, str]], re.Pattern[str],
              re.Pattern[str], dict[str, int]] | None = None


def _patterns() -> _Patterns:
    global _pat
    if _pat is None:
        _pat = _Patterns()
    return _pat


def _alternation(words: Any) -> re.Pattern[str]:
    """A whole-word match of any of `words` (digits may follow: sd3, wan2), longest first."""
    alt = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{alt})(?![a-z])")


def _word_patterns() -> tuple[re.Pattern[str], dict[str, tuple[str, str]], re.Pattern[str],
                              re.Pattern[str], dict[str, int]]:
    """Diffusion family words (every family of families.json and its aliases) -> (family,
    modality); text family words; modality words -> their rank in `_MODALITY_WORDS`."""
    global _words
    if _words is None:
        from ._diffusion import _load

        fams = _load()
        fam_of: dict[str, tuple[str, str]] = {}
        for key, fam in fams.items():
            if key not in _GENERIC and not key.startswith("closed-"):
                fam_of[key] = (key, fam.kind)
        for alias, key in _aliases().items():
            if alias not in _GENERIC and key in fams and key not in _GENERIC:
                fam_of[alias] = (key, fams[key].kind)
        rank = {w: i for i, (_, words) in enumerate(_MODALITY_WORDS) for w in words}
        _words = (_alternation(fam_of), fam_of, _alternation(_TEXT_FAMILIES),
                  _alternation(rank), rank)
    return _words


def _aliases() -> dict[str, str]:
    import json
    from pathlib import Path

    data = json.loads(Path(__file__).with_name("data").joinpath("families.json").read_text(
        encoding="utf-8"))
    return dict(data.get("aliases") or {})


def read(name: str) -> NameFacts:
    """The facts `name` states (empty `NameFacts` for a name that states none)."""
    if not isinstance(name, str):
        return NameFacts()
    low = name.strip().lower().replace(" ", "-")
    pat = _patterns()
    tokens = [t for t in pat.token.split(low) if t]
    joined = pat.sep.sub("-", low)
    prec = tag = None
    i = 0
    while i < len(tokens):  # the last tag wins: ...-AWQ-INT4
        pair = f"{tokens[i]}-{tokens[i + 1]}" if i + 1 < len(tokens) else ""
        key = pair if pair in _TAGS else tokens[i]
        width = key.count("-") + 1 if key in _TAGS else 0
        if width:
            prec, tag, at = _TAGS[key], key, (i, width)
        i += width or 1
    if tag is not None:  # as written (case kept) when the split agrees
        written = name_tokens(name)
        if len(written) == len(tokens):
            tag = "-".join(written[at[0]:at[0] + at[1]])
    g = (pat.gguf.search(low.replace("-", "_").replace(".", "_"))
         if prec is None and "q" in low else None)
    if g is not None:
        prec, tag = ("int8" if int(g.group(2)) >= 6 else "int4"), g.group(1).upper()
    total = active = None
    experts: int | None = None
    m = pat.experts.search(joined) if "e" in joined else None
    if m:  # Llama 4: 17B active, 16 experts; the total is not in the name
        active, experts = float(m.group(1)), int(m.group(2))
    else:
        s = pat.size.search(joined)
        if s:
            size = float(s.group(2)) * _UNIT[s.group(3)]
            n = int(s.group(1)) if s.group(1) else 1
            if n > 1:  # Mixtral 8x7B: shared attention ~15%, two experts per token
                experts = n
                total = size * n * 0.85
                active = min(total, size * 2 * 0.85) if n > 2 else total
            elif size > 0:
                total = size
        a = pat.active.search(joined)
        if a and float(a.group(1)) > 0:
            active = float(a.group(1))
            if total is not None:
                active = min(active, total)
    if total is not None and total <= 0:
        total = None
    family = modality = None
    fam_words, fam_of, text_words, mod_words, rank = _word_patterns()
    found = [m.group() for m in fam_words.finditer(joined)]
    if found:  # the longest family word named: stable-diffusion-3 before stable-diffusion
        family, modality = fam_of[max(found, key=len)]
    else:
        t = text_words.search(joined)
        family = t.group() if t else None
    if modality is None:
        words = [m.group() for m in mod_words.finditer(joined)]
        if words:
            modality = _MODALITY_WORDS[min(rank[w] for w in words)][0]
        elif "px" in joined and pat.pixels.search(joined):
            modality = "image"
    return NameFacts(prec, tag, total, active, experts, family, modality)


def name_tokens(name: str) -> list[str]:
    """The name's tokens as written (case kept), split where `read` splits."""
    return [t for t in _patterns().token.split(name.strip().replace(" ", "-")) if t]


def describe(facts: NameFacts) -> dict[str, Any]:
    """The facts read, without the empty ones (for the CLI and docs)."""
    return {k: v for k, v in facts._asdict().items() if v is not None}
