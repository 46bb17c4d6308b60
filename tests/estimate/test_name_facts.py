"""Issue 18: what a model's name states (precision, sizes, experts, family, modality) is read,
and overrides the registry entry's own; property tests over the EcoLogits and LiteLLM name lists
and over Hugging Face naming conventions."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wattmeter
from wattmeter.cli import main
from wattmeter.estimate._name_facts import NameFacts, describe, read
from wattmeter.estimate._registry import all_models, lookup
from wattmeter.estimate._resolve import default_operation, resolve

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from model_coverage import ecologits_names, litellm_names

PRECISIONS = {"bf16", "fp16", "fp8", "int8", "fp4", "int4"}


@pytest.mark.parametrize(("name", "facts"), [
    ("Qwen/Qwen3-32B-FP8", {"precision": "fp8", "total_b": 32.0}),
    ("Qwen/Qwen3-32B-AWQ", {"precision": "int4", "precision_tag": "AWQ"}),
    ("hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4", {"precision": "int4",
                                                            "total_b": 70.0}),
    ("RedHatAI/Qwen3-30B-A3B-FP8-dynamic", {"precision": "fp8", "precision_tag": "FP8-dynamic",
                                            "total_b": 30.0, "active_b": 3.0}),
    ("nvidia/Llama-3.3-70B-Instruct-NVFP4", {"precision": "fp4"}),
    ("openai/gpt-oss-120b-MXFP4", {"precision": "fp4", "total_b": 120.0}),
    ("neuralmagic/Meta-Llama-3.1-8B-Instruct-quantized.w4a16", {"precision": "int4"}),
    ("RedHatAI/Llama-3.1-8B-Instruct-quantized.w8a8", {"precision": "int8"}),
    ("unsloth/Llama-3.2-3B-Instruct-bnb-4bit", {"precision": "int4",
                                                "precision_tag": "bnb-4bit"}),
    ("mlx-community/Qwen3-4B-8bit", {"precision": "int8", "total_b": 4.0}),
    ("TheBloke/Llama-2-7B-GGUF/llama-2-7b.Q4_K_M.gguf", {"precision": "int4",
                                                         "precision_tag": "Q4_K_M"}),
    ("bartowski/Qwen2.5-7B-Instruct-GGUF:Q8_0", {"precision": "int8"}),
    ("Qwen/Qwen3-235B-A22B-Instruct-2507", {"total_b": 235.0, "active_b": 22.0}),
    ("together_ai/Qwen/Qwen3.8-2.4T-A95B", {"total_b": 2400.0, "active_b": 95.0}),
    ("deepseek-v4-1T-A50B", {"total_b": 1000.0, "active_b": 50.0}),
    ("meta-llama/Llama-4-Scout-17B-16E-Instruct", {"active_b": 17.0, "experts": 16}),
    ("mistralai/Mixtral-8x7B-Instruct-v0.1", {"experts": 8}),
    ("Efficient-Large-Model/Sana_1600M_1024px_diffusers", {"total_b": 1.6, "family": "sana",
                                                          "modality": "image"}),
    ("Efficient-Large-Model/SANA1.5_1.6B_1024px_diffusers", {"total_b": 1.6}),
    ("Wan-AI/Wan2.1-T2V-1.3B-Diffusers", {"total_b": 1.3, "family": "wan",
                                          "modality": "video"}),
    ("Wan-AI/Wan2.2-T2V-A14B-Diffusers", {"active_b": 14.0, "family": "wan"}),
    ("black-forest-labs/FLUX.1-dev", {"family": "flux", "modality": "image"}),
    ("stabilityai/stable-diffusion-3.5-large", {"family": "sd3"}),
    ("tencent/HunyuanVideo", {"family": "hunyuanvideo", "modality": "video"}),
    ("openai/whisper-large-v3", {"modality": "transcription"}),
])
def test_examples(name: str, facts: dict[str, Any]) -> None:
    got = describe(read(name))
    for key, value in facts.items():
        assert got.get(key) == pytest.approx(value) if isinstance(value, float) \
            else got.get(key) == value, (name, key, got)


@pytest.mark.parametrize("name", ["gpt-4o-mini", "claude-3-5-sonnet-20241022", "gpt-5.4-nano",
                                  "gemini-2.5-flash", "command-r7b-12-2024", "dall-e-3",
                                  "o4-mini-2025-04-16", "text-embedding-3-large"])
def test_names_that_state_no_size_or_precision(name: str) -> None:
    f = read(name)
    assert f.precision is None and f.total_b is None and f.active_b is None, describe(f)


def _valid(f: NameFacts) -> None:
    assert f.precision is None or f.precision in PRECISIONS
    assert (f.precision is None) == (f.precision_tag is None)
    for size in (f.total_b, f.active_b):
        assert size is None or 0 < size < 1e6
    if f.total_b is not None and f.active_b is not None:
        assert f.active_b <= f.total_b
    assert f.experts is None or f.experts >= 2


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_any_text_reads_without_error(name: str) -> None:
    _valid(read(name))


_LISTS = ecologits_names() + litellm_names()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_LISTS))
def test_list_names_read_sane_facts(n: Any) -> None:
    _valid(read(n.name))


def _ecologits_params() -> list[tuple[str, float, float]]:
    from model_coverage import _package_file

    data = json.loads(_package_file("ecologits", "data", "models.json").read_text("utf-8"))

    def mid(x: Any) -> float | None:
        if isinstance(x, dict):
            return (x["min"] * x["max"]) ** 0.5 if x.get("min") and x.get("max") else None
        return float(x) if x else None

    out = []
    for m in data["models"]:
        par = (m.get("architecture") or {}).get("parameters")
        if isinstance(par, dict) and "total" in par:
            t, a = mid(par["total"]), mid(par["active"])
        else:
            t = a = mid(par)
        if t and a:
            out.append((str(m["name"]), t, a))
    return out


def test_sizes_in_ecologits_names_match_their_parameter_counts() -> None:
    """Every EcoLogits name that states a size states its parameter count within x1.35
    (names round; Mixtral 8x7B is read as 8 experts of 7B with shared attention)."""
    checked = 0
    for name, total, active in _ecologits_params():
        f = read(name)
        if name.endswith("Prompt-Guard-86M"):  # the name counts the backbone, not embeddings
            continue
        if f.total_b is not None:
            assert 1 / 1.35 <= f.total_b / total <= 1.35, (name, f, total)
            checked += 1
        if f.active_b is not None:
            assert 1 / 1.35 <= f.active_b / active <= 1.35, (name, f, active)
    assert checked > 100


def _untagged_registered() -> list[str]:
    return sorted(m.id for m in all_models()
                  if m.modality == "text" and read(m.id).precision is None)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([*_LISTS, None]), st.sampled_from(_untagged_registered()),
       st.sampled_from(["FP8", "AWQ", "GPTQ-Int4", "bnb-4bit", "MXFP4", "NVFP4", "Int8",
                        "GGUF-Q4_K_M", "FP8-dynamic"]))
def test_a_quantisation_tag_keeps_the_entry_and_sets_the_precision(n: Any, model_id: str,
                                                                   tag: str) -> None:
    """A quantised checkpoint of a registered model is that model at the tag's precision;
    the same holds for a list name that resolves to an entry."""
    name, provider = (model_id, None) if n is None else (n.name, n.provider)
    info = lookup(name, provider)
    if info is None or read(name).precision is not None:
        return
    quantised = f"{name}-{tag}"
    got = lookup(quantised, provider)
    prec = read(tag).precision
    assert got is not None
    # the same entry, or the entry registered for that checkpoint (Llama-3.1-405B-...-FP8)
    assert got == info or (got.precision == prec and got.total_params_b == info.total_params_b)
    s = resolve(quantised, provider, "chat")
    assert s.registry_model == got.id
    assert s.precision == prec
    assert not any("differs from the registry" in w for w in s.warnings)


@settings(max_examples=200, deadline=None)
@given(org=st.sampled_from(["meta-llama", "Qwen", "acme-ai", "mistralai", "unsloth"]),
       fam=st.sampled_from(["Llama-3.1", "Qwen3", "Foo", "Mistral-Small"]),
       size=st.sampled_from([0.5, 1.5, 3, 7, 8, 14, 32, 70, 235, 405]),
       active=st.one_of(st.none(), st.sampled_from([3, 10, 22, 35])),
       suffix=st.sampled_from(["", "-Instruct", "-Instruct-2507", "-Base", "-Chat"]),
       tag=st.sampled_from([("", None), ("-FP8", "fp8"), ("-AWQ", "int4"), ("-GPTQ", "int4"),
                            ("-bnb-4bit", "int4"), ("-NVFP4", "fp4"), ("-MXFP4", "fp4"),
                            ("-W8A8", "int8"), ("-Q4_K_M.gguf", "int4")]))
def test_hugging_face_naming_conventions(org: str, fam: str, size: float, active: int | None,
                                         suffix: str, tag: tuple[str, str | None]) -> None:
    """org/Family-<size>B[-A<active>B][-Instruct...][-<quantisation>]"""
    act = f"-A{active}B" if active is not None and active < size else ""
    name = f"{org}/{fam}-{size:g}B{act}{suffix}{tag[0]}"
    f = read(name)
    assert f.total_b == pytest.approx(float(size)), name
    assert f.active_b == (pytest.approx(float(active)) if act else None), name
    assert f.precision == tag[1], name


def test_fp8_checkpoint_of_a_registered_bf16_model_is_that_model_in_fp8() -> None:
    dep = wattmeter.Deployment(gpu="H100", gpus=1, batch_size=32)
    bf16 = wattmeter.estimate("Qwen/Qwen3-32B", input_tokens=500, output_tokens=300,
                              deployment=dep)
    fp8 = wattmeter.estimate("Qwen/Qwen3-32B-FP8", input_tokens=500, output_tokens=300,
                             deployment=dep)
    assert fp8.registry_model == bf16.registry_model == "Qwen/Qwen3-32B"
    assert resolve("Qwen/Qwen3-32B-FP8", None, "chat").precision == "fp8"
    assert fp8.accelerator_wh != bf16.accelerator_wh
    awq = resolve("hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4", None, "chat")
    assert awq.registry_model is not None and awq.precision == "int4"


def test_a_size_in_the_name_that_names_another_model_wins() -> None:
    s = resolve("Qwen/Qwen3-4B-FP8", None, "chat")  # resolves (by prefix or entry) to Qwen3 4B
    assert s.total_b == pytest.approx(4.0)
    s = resolve("Qwen/Qwen3-Coder-7B-Instruct", None, "chat")  # prefix: Qwen3-Coder 480B
    assert s.registry_model is not None and "480B" in s.registry_model
    assert any("differs from the registry" in w for w in s.warnings)
    assert s.total_b == s.active_b == pytest.approx(7.0) and not s.shape
    assert s.architecture == "dense"


def test_a_text_family_word_in_a_video_id_keeps_the_entrys_diffusion_family() -> None:
    # "minimax" names MiniMax's language models; Hailuo's id borrowed it and lost the
    # closed-video family (its geometry and its assumed range of steps)
    for name in ("minimax/hailuo-02", "hailuo-02"):
        assert resolve(name, None, "video").family == "closed-video"
    assert resolve("someone/wan2.1-finetune-t2v", None, "video").family == "wan"
    assert resolve("someone/minimax-t2v", None, "video").family is None


def test_unregistered_diffusion_name_uses_its_family_and_says_so() -> None:
    name = "Efficient-Large-Model/Sana_1600M_1024px_diffusers"
    assert lookup(name) is None
    assert default_operation(name, None) == "image"
    fp = wattmeter.estimate(name, width=1024, height=1024, steps=20)
    assert fp.operation == "image"
    s = resolve(name, None, "image")
    assert s.family == "sana" and s.total_b == pytest.approx(1.6)
    assert any("sana family's geometry stands in" in w for w in fp.warnings)
    assert fp.accelerator_wh_low < fp.accelerator_wh < fp.accelerator_wh_high


def test_unregistered_quantised_name_keeps_its_precision() -> None:
    s = resolve("acme/Foo-14B-Instruct-AWQ", None, "chat")
    assert s.registry_model is None and s.precision == "int4" and s.total_b == 14.0


def test_cli_prints_what_it_read(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", "--output-tokens",
                 "100"]) == 0
    out = capsys.readouterr().out
    assert "from name   precision fp8 (FP8), 235B total, 22B active" in out
    assert main(["estimate", "unsloth/Llama-3.2-3B-Instruct-bnb-4bit", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["name_facts"]["precision"] == "int4"
    assert d["name_facts"]["precision_tag"] == "bnb-4bit"
    assert main(["estimate", "gpt-4o", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name_facts"] == {}


def test_every_quantisation_suffix_the_resolver_strips_is_a_precision_fact() -> None:
    """`-W4A8` was stripped for matching but read as no fact: the model stayed bf16."""
    fp = wattmeter.estimate("meta-llama/Meta-Llama-3.1-70B-Instruct-W4A8", output_tokens=10)
    assert fp.registry_model is not None
    bf16 = wattmeter.estimate("meta-llama/Meta-Llama-3.1-70B-Instruct", output_tokens=10)
    assert fp.accelerator_wh != bf16.accelerator_wh
