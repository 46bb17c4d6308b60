"""The registry knows the models of two public lists (EcoLogits, LiteLLM), and knows them right.

The lists are read from the installed packages by ``scripts/model_coverage.py``, so a new
release of either package that adds models makes this test say which names to register.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from scripts_helpers import load_script

import wattmeter
from wattmeter.estimate import _registry
from wattmeter.estimate._registry import dated_aliases, lookup, register_model

#: Share of each list's models of each modality that must resolve to a registered model.
TARGET = 0.97


def _script() -> ModuleType:
    return load_script("scripts/model_coverage.py")


cov = _script()
ECOLOGITS = cov.ecologits_names()
LITELLM = cov.litellm_names()
LISTS = {"ecologits": ECOLOGITS, "litellm": LITELLM,
         "litellm-chat": cov.litellm_names(chat_only=True)}


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    yield
    _registry._reset_for_tests()


def test_the_lists_are_read() -> None:
    """Guards the selection (342 EcoLogits models and 955 LiteLLM chat models in ecologits
    0.11.3 and litellm 1.110, issue 10's figures) against an empty or truncated read."""
    assert len(ECOLOGITS) >= 300
    assert len(LISTS["litellm-chat"]) >= 900
    modalities = {n.modality for n in LITELLM}
    assert set(cov.MODALITIES) <= modalities


@pytest.mark.parametrize(("which", "modality"), [
    ("ecologits", "text"), ("litellm-chat", "text"), ("litellm", "text"), ("litellm", "image"),
    ("litellm", "audio"), ("litellm", "embedding")])
def test_at_least_97_percent_of_each_list_and_modality_resolve(which: str, modality: str) -> None:
    known, unknown = cov.coverage(LISTS[which])[modality]
    share = len(known) / (len(known) + len(unknown))
    assert share >= TARGET, (f"{which} {modality}: {share:.1%} resolve; register these "
                             f"(scripts/model_coverage.py --unknown): "
                             f"{sorted(n.name for n in unknown)}")


def test_every_ecologits_name_resolves_to_a_size_within_2x_of_ecologits() -> None:
    """A name resolving to the wrong entry (a sibling's size) is worse than an unknown one."""
    import json

    path = Path(importlib.util.find_spec("ecologits").submodule_search_locations[0])  # type: ignore[union-attr]
    data = json.loads((path / "data" / "models.json").read_text(encoding="utf-8"))
    wrong = []
    for m in data["models"]:
        p = m["architecture"]["parameters"]
        if isinstance(p, (int, float)):
            lo = hi = p
        elif "total" in p:
            a = p["active"]
            lo, hi = (a["min"], a["max"]) if isinstance(a, dict) else (a, a)
        else:
            lo, hi = p["min"], p["max"]
        info = lookup(m["name"], cov.ECOLOGITS_PROVIDERS.get(m["provider"], m["provider"]))
        if info and (info.active_params_b_high * 2 < lo or info.active_params_b_low / 2 > hi):
            wrong.append((m["name"], lo, hi, info.id))
    assert not wrong


RIGHT = [
    # Bedrock: regions, vendors, versions, ARNs, converse, commitment paths
    ("us.anthropic.claude-sonnet-5-5", "bedrock", "anthropic/claude-sonnet-5-5"),
    ("bedrock/converse/global.anthropic.claude-opus-5", None, "anthropic/claude-opus-5"),
    ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-8-v1:0",
     "bedrock", "anthropic/claude-opus-4-8"),
    ("bedrock/us-east-1/1-month-commitment/anthropic.claude-v2:1", None, "anthropic/claude-2"),
    ("eu.deepseek.v3.2", "bedrock", "deepseek-ai/DeepSeek-V3.2-Exp"),
    ("us.deepseek.r1-v1:0", "bedrock", "deepseek-ai/DeepSeek-R1"),
    ("in.moonshotai.kimi-k3.1", "bedrock", "moonshotai/Kimi-K3"),
    ("mistral.mistral-large-3-675b-instruct", "bedrock",
     "mistralai/Mistral-Large-3-675B-Instruct-2512"),
    ("apac.amazon.nova-2-pro-preview-20251202-v1:0", "bedrock", "amazon/nova-2-pro"),
    ("ai21.jamba-1-5-large-v1:0", "bedrock", "ai21labs/AI21-Jamba-1.5-Large"),
    ("stability.sd3-large-v1:0", "bedrock", "stabilityai/stable-diffusion-3-large"),
    # Vertex, Azure, Gemini prefixes
    ("vertex_ai/claude-opus-4-7@20260101", None, "anthropic/claude-opus-4-7"),
    ("azure/eu/gpt-6-luna-2026-09-22", "azure", "openai/gpt-6-luna"),
    ("gemini/gemini-3.1-pro-preview-customtools", "gemini", "google/gemini-3.1-pro"),
    ("gemini/gemini-gemma-2-9b-it", "gemini", "google/gemma-2-9b-it"),
    # versions are not prefixes of each other
    ("gpt-5.4-nano-2026-03-17", None, "openai/gpt-5.4-nano"),
    ("gpt-5.2-pro-2025-12-11", None, "openai/gpt-5.2-pro"),
    ("claude-opus-4-6", None, "anthropic/claude-opus-4-6"),
    ("gpt-image-1.5-2025-12-16", None, "openai/gpt-image-1.5"),
    # moving names, dated in data/aliases.json (and the per-version chat pointer)
    ("gpt-5.1-chat-latest", None, "openai/gpt-5.1"),
    ("chat-latest", "openai", "openai/gpt-5.5"),
    ("gemini-flash-latest", "gemini", "google/gemini-3.8-flash"),
    ("mistral/mistral-large-latest", None, "mistralai/Mistral-Large-3-675B-Instruct-2512"),
    # Hugging Face: packagings, base models, quantized releases
    ("google/gemma-7b-it-quant-pytorch", "huggingface", "google/gemma-7b"),
    ("google/codegemma-1.1-2b-GGUF", "huggingface", "google/codegemma-2b"),
    ("meta-llama/Meta-Llama-3.1-70B", "huggingface", "meta-llama/Llama-3.1-70B-Instruct"),
    ("CohereForAI/c4ai-command-r-v01-4bit", "huggingface", "CohereForAI/c4ai-command-r-v01"),
    ("microsoft/Phi-3-vision-128k-instruct-onnx-cuda", "huggingface",
     "microsoft/Phi-3-vision-128k-instruct"),
    # audio, image, embeddings
    ("gpt-realtime-2.1-mini-2026-07-07", "openai", "openai/gpt-realtime-mini"),
    ("voxtral-mini-transcribe-realtime-3-0", "mistral", "mistral/voxtral-mini-transcribe"),
    ("nano-banana-pro-preview", "gemini", "google/gemini-3-pro-image"),
    ("gemini-embedding-2-preview", "gemini", "google/gemini-embedding-2"),
    ("us.twelvelabs.marengo-embed-3-0-v1:0", "bedrock", "twelvelabs/marengo-embed"),
]


@pytest.mark.parametrize(("name", "provider", "expected"), RIGHT)
def test_names_resolve_to_the_right_entry(name: str, provider: str | None,
                                          expected: str) -> None:
    info = lookup(name, provider)
    assert info is not None and info.id == expected, (name, info and info.id)


def test_an_unknown_version_is_unknown_not_its_predecessor() -> None:
    assert lookup("gpt-5.9") is None  # not gpt-5 (1000B) silently
    assert lookup("claude-opus-4-9") is None
    assert lookup("command-nightly") is None  # not the legacy 52B Command


_OPERATION = {"text": "chat", "image": "image", "audio": "speech", "embedding": "embeddings",
              "video": "video"}


def test_no_name_of_either_list_crashes_lookup_or_estimate() -> None:
    """Every name looks up; one name per entry and modality (and every unknown one) estimates.

    Names resolving to the same entry share its coefficients, so one of them stands for all.
    """
    sample: dict[tuple[str, str], Any] = {}
    for n in [*ECOLOGITS, *LITELLM]:
        info = lookup(n.name, n.provider)
        key = (info.id if info else n.name, n.modality)
        sample.setdefault(key, n)
    for n in sample.values():
        fp = wattmeter.estimate(n.name, provider=n.provider, operation=_OPERATION[n.modality],
                                input_tokens=100, output_tokens=50)
        assert fp.energy_wh > 0, n


# ---------------------------------------------------------------------------- dated aliases
def test_every_moving_name_is_dated_sourced_and_resolves_to_its_target() -> None:
    rows = dated_aliases()
    assert len(rows) >= 15
    for name, (row, info) in rows.items():
        assert info is not None, f"{name} -> {row.target} does not resolve"
        assert info is lookup(row.target), name
        assert len(row.as_of) == 7 and row.source.strip(), name


def test_a_moving_name_wins_over_an_older_static_alias() -> None:
    # the built-in Mistral Large 2 entry still lists mistral-large-latest among its aliases
    old = lookup("mistral-large-2411")
    assert old is not None and "mistral-large-latest" in old.aliases
    assert lookup("mistral-large-latest") is lookup("mistral-large-2512")


def test_a_users_model_wins_over_a_moving_name() -> None:
    mine = register_model("acme/chat", total_params_b=9, aliases=["chat-latest"])
    assert lookup("chat-latest") is mine
    _registry._reset_for_tests()
    info = lookup("chat-latest")
    assert info is not None and info.id == "openai/gpt-5.5"
