#!/usr/bin/env python3
"""Which models of two well-kept public lists wattmeter's registry knows, per list and modality.

Reads EcoLogits' ``ecologits/data/models.json`` and LiteLLM's
``model_prices_and_context_window_backup.json`` straight from the installed packages (neither
package is imported: importing litellm fetches a price map over the network) and looks every
name up in the registry, as a metered call would. Run from the repo root:

    PYTHONPATH=src python3 scripts/model_coverage.py [--list ecologits|litellm] [--unknown]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

__all__ = ["MODALITIES", "Name", "coverage", "ecologits_names", "litellm_names", "main"]

#: The modalities the coverage test holds at >= 97 %; video is reported, not held.
MODALITIES = ("text", "image", "audio", "embedding")

#: LiteLLM providers of the issue-10 selection (chat models of openai, azure, anthropic,
#: gemini, vertex, mistral, cohere, bedrock incl. converse) -> the provider wattmeter sees.
LITELLM_PROVIDERS = {
    "openai": "openai", "text-completion-openai": "openai", "azure": "azure",
    "azure_text": "azure", "anthropic": "anthropic", "gemini": "gemini",
    "vertex_ai-language-models": "vertex_ai", "vertex_ai": "vertex_ai",
    "vertex_ai-embedding-models": "vertex_ai", "vertex_ai-video-models": "vertex_ai",
    "vertex_ai-text-models": "vertex_ai", "mistral": "mistral", "cohere": "cohere",
    "cohere_chat": "cohere", "bedrock": "bedrock", "bedrock_converse": "bedrock",
}
#: LiteLLM ``mode`` -> modality. Realtime models take and give speech, so count as audio.
LITELLM_MODES = {
    "chat": "text", "responses": "text", "completion": "text",
    "image_generation": "image", "image_edit": "image",
    "audio_transcription": "audio", "audio_speech": "audio", "realtime": "audio",
    "embedding": "embedding", "video_generation": "video",
}
#: EcoLogits provider -> the provider name wattmeter's instrumentation passes.
ECOLOGITS_PROVIDERS = {"huggingface_hub": "huggingface", "google_genai": "google",
                       "mistralai": "mistral"}


class Name(NamedTuple):
    """One model name of a list, with the provider and modality to look it up under."""

    name: str
    provider: str
    modality: str
    group: str  # the list's own provider name, for the per-provider breakdown


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)  # locates without importing
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {package!r} is not installed; pip install {package}")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def ecologits_names(path: Path | None = None) -> list[Name]:
    """The models (all text generation) of EcoLogits' models.json (its aliases left out)."""
    path = path or _package_file("ecologits", "data", "models.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for entry in data.get("models", []):
        group = str(entry["provider"])
        out.append(Name(str(entry["name"]), ECOLOGITS_PROVIDERS.get(group, group), "text",
                        group))
    return out


def litellm_names(path: Path | None = None, *, chat_only: bool = False) -> list[Name]:
    """The models of LiteLLM's price map for the issue-10 providers, with their modality.

    ``chat_only`` keeps the issue's text selection exactly (mode chat, Vertex's Gemini
    ``vertex_ai-language-models``): 955 names in litellm 1.110.
    """
    path = path or _package_file("litellm", "model_prices_and_context_window_backup.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for key, entry in data.items():
        if not isinstance(entry, dict):
            continue
        group, mode = entry.get("litellm_provider"), entry.get("mode")
        if chat_only and (mode != "chat" or group == "vertex_ai"):
            continue
        if group in LITELLM_PROVIDERS and mode in LITELLM_MODES:
            out.append(Name(key, LITELLM_PROVIDERS[group], LITELLM_MODES[mode], group))
    return out


def _lookup() -> Callable[[str, str | None], object]:
    from wattmeter.estimate._registry import lookup

    return lookup


def coverage(names: Iterable[Name]) -> dict[str, tuple[list[Name], list[Name]]]:
    """Per modality: (names that resolve to a registered model, names that don't)."""
    lookup = _lookup()
    out: dict[str, tuple[list[Name], list[Name]]] = {}
    for n in names:
        known, unknown = out.setdefault(n.modality, ([], []))
        (known if lookup(n.name, n.provider) is not None else unknown).append(n)
    return out


def _report(title: str, names: list[Name], show_unknown: bool) -> None:
    cov = coverage(names)
    total = len(names)
    missing = sum(len(u) for _, u in cov.values())
    print(f"{title}: {total - missing}/{total} resolve, {missing} unknown "
          f"({100 * missing / max(total, 1):.0f}%)")
    for modality in sorted(cov, key=lambda m: (m not in MODALITIES, m)):
        known, unknown = cov[modality]
        n = len(known) + len(unknown)
        print(f"  {modality:<10} {len(known):>4}/{n:<4} resolve ({100 * len(known) / n:5.1f}%)")
        if show_unknown:
            for u in sorted(unknown):
                print(f"      unknown  {u.name}  [{u.group}]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", choices=("ecologits", "litellm"), action="append",
                        help="only this list (default: both)")
    parser.add_argument("--unknown", action="store_true", help="print the names that don't "
                        "resolve")
    args = parser.parse_args(argv)
    lists = args.list or ["ecologits", "litellm"]
    if "ecologits" in lists:
        _report("EcoLogits models.json", ecologits_names(), args.unknown)
    if "litellm" in lists:
        _report("LiteLLM chat models (issue 10's selection)", litellm_names(chat_only=True),
                False)
        _report("LiteLLM price map, issue-10 providers, all modes", litellm_names(),
                args.unknown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
