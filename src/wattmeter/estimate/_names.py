"""Model names in the forms a call carries, reduced to the forms the registry indexes.

Pure string functions: case and separators (`norm`, `squash`), the variants of a name with its
route, region and vendor prefixes removed (`variants`), and one suffix stripped at a time
(`strip_once`: dates, versions, packagings). The regular expressions compile on first use.
"""

from __future__ import annotations

import re

__all__ = ["boundaries", "norm", "patterns", "squash", "strip_once", "variants"]


class _Patterns:
    """Regular expressions of name matching, compiled on first use (not at import)."""

    def __init__(self) -> None:
        c = re.compile
        self.sep = c(r"[\s_]+")
        self.squash = c(r"[-._:\s/]+")
        self.generic_tail = c(r"-(instruct|it|chat|hf|diffusers)$")
        self.region = c(r"^(us|eu|apac|ap|global|us-gov|ca|jp|au|in)\.")
        self.bedrock_vendor = c(
            r"^(anthropic|meta|mistral|cohere|amazon|ai21|deepseek|openai|qwen|writer|"
            r"stability|twelvelabs|luma|minimax|moonshotai|moonshot|nvidia|xai|zai|google)\.")
        # a vendor word glued to a model name: meta-llama-3.1-8b, gemini-gemma-2-9b-it
        self.vendor_word = c(r"^(meta-(?=llama)|gemini-(?=gemma))")
        self.suffixes = tuple(c(p) for p in (
            r"@.*$",  # Vertex: claude-3-5-sonnet-v2@20241022
            r":\d+$",  # Bedrock: ...-v2:0
            r"-\d{4}-\d{2}-\d{2}$",  # -2024-08-06
            r"-\d{8}$",  # -20241022
            r"-\d{2}-\d{4}$",  # Cohere: -08-2024
            r"-(latest|stable|default)$",
            r"-preview(-\d{2}-\d{2}|-\d{4}-\d{2}-\d{2}|-\d+)?$",
            r"-exp(-\d{2}-\d{2}|-\d+)?$",
            r"-v\d+(\.\d+)?$",  # -v2, -v1.0
            r"-\d{4}$",  # -0125, -2411
            r"-\d{3}$",  # -001
            r"-\d{2}-\d{2}$",  # -05-20
            # packagings and quantizations of the same weights: -GGUF, -keras, -4bit, -INT8,
            # -FP8, -NVFP4, .Q4_K_M (the resolver keeps the precision: _name_facts)
            r"[-.](gguf|ggml|mlx|awq|gptq|onnx(-[a-z]+)?|keras|pytorch|flax|jax|tflite|"
            r"(sfp-)?cpp|quant-pytorch|\d+bit|int[48]|bnb-4bit|fp8(-dynamic)?|fp4|nvfp4|mxfp4|"
            r"w[48]a(8|16)|nf4|bf16|fp16|f16|i?q[2-8](-(k|[01sml]|xs|xxs|nl))*|quantized)$",
        ))
        # a separator, but not inside a version number (gpt-5.4-nano must not become gpt-5)
        # unless a parameter count follows (mistral-large-3-675b -> mistral-large-3)
        self.boundary = c(r"(?<!\d)[-._:@/]|[-._:@/](?!\d)|[-_:@/](?=\d+(\.\d+)?[bm](?![a-z]))")


_pat: _Patterns | None = None


def patterns() -> _Patterns:
    """The compiled patterns (compiled on the first call)."""
    global _pat
    if _pat is None:
        _pat = _Patterns()
    return _pat


def norm(name: str) -> str:
    """Lower case, stripped, runs of whitespace and underscores as one hyphen."""
    low = name.strip().lower()
    if low.isascii() and low.isprintable() and "_" not in low and " " not in low:
        return low  # the common case, without a regex (the index has ~2000 keys)
    return patterns().sep.sub("-", low)


#: ``squash`` for ASCII names: the separators its regex removes.
_SQUASH = str.maketrans("", "", "-._:/ \t\n\r\f\v\x1c\x1d\x1e\x1f")


def squash(name: str) -> str:
    """Lower case without separators (``gpt-4.1`` and ``gpt41`` meet)."""
    low = name.lower()
    if low.isascii():
        return low.translate(_SQUASH)
    return patterns().squash.sub("", low)


def variants(name: str) -> list[str]:
    """The name, then the name with each leading ``prefix/`` removed in turn, then Bedrock's
    region and vendor removed (and the vendor glued back when the name lacks it)."""
    n = norm(name)
    out = [n]
    while "/" in n:
        n = n.split("/", 1)[1]
        if n:
            out.append(n)
    # Bedrock: [region.]vendor.model-version:0
    last = out[-1]
    pat = patterns()
    unregioned = pat.region.sub("", last)
    bedrock = pat.bedrock_vendor.sub("", unregioned)
    if bedrock != last:
        out.append(bedrock)
        if bedrock != unregioned:  # deepseek.v3.2 -> deepseek-v3.2
            vendor = unregioned[: len(unregioned) - len(bedrock) - 1]
            if not bedrock.startswith(vendor):
                out.append(f"{vendor}-{bedrock}")
    bare = pat.vendor_word.sub("", out[-1])
    if bare not in out:
        out.append(bare)
    return out


def strip_once(key: str) -> str:
    """`key` without its last date, version, preview or packaging suffix (or unchanged)."""
    for pattern in patterns().suffixes:
        stripped = pattern.sub("", key)
        if stripped != key and stripped:
            return stripped
    return key


def boundaries(form: str) -> list[int]:
    """Where `form` may be cut for a prefix match: separators outside version numbers."""
    return [m.start() for m in patterns().boundary.finditer(form)]
