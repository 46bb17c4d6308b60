"""The model registry: data quality, name matching, user registration, the lookup cache."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wattmeter.estimate import _names, _registry
from wattmeter.estimate._diffusion import family
from wattmeter.estimate._registry import (
    ARCHITECTURES,
    MODALITIES,
    ModelInfo,
    all_models,
    load_models_file,
    lookup,
    on_registry_change,
    register_model,
)

REFERENCE = Path(__file__).resolve().parents[2] / "benchmarks" / "reference"


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    """User registrations made by a test don't leak into the next one."""
    yield
    _registry._reset_for_tests()


# ---------------------------------------------------------------------------- the data
def test_at_least_150_models_with_every_field_sourced() -> None:
    models = all_models()
    assert len(models) >= 150
    for m in models:
        assert m.source.strip() and 2015 <= m.year <= 2026, m.id
        assert m.modality in MODALITIES and m.architecture in ARCHITECTURES, m.id
        assert m.total_params_b_low <= m.total_params_b <= m.total_params_b_high, m.id
        assert m.active_params_b_low <= m.active_params_b <= m.active_params_b_high, m.id
        assert m.active_params_b <= m.total_params_b, m.id
        assert m.active_params_b_high <= m.total_params_b_high, m.id
        assert m.total_params_b_low > 0 and m.active_params_b_low > 0, m.id
        if not m.disclosed:  # an undisclosed size is a range, with its reasoning
            assert m.total_params_b_high > m.total_params_b_low or \
                m.active_params_b_high > m.active_params_b_low, m.id
            assert len(m.notes) > 40, m.id
        if m.modality in ("image", "video") and m.architecture != "autoregressive":
            assert m.family, m.id
            assert {"width", "height"} <= set(m.defaults), m.id
            # unpublished steps: the family's assumed range (closed models), else the card's
            fam = family(m.family, m.modality)
            assert "steps" in m.defaults or 0 < fam.steps_low < fam.steps_high, m.id
        if m.architecture == "autoregressive":
            assert {"width", "height", "image_tokens"} <= set(m.defaults), m.id
        if m.modality == "video":
            assert {"frames", "fps"} <= set(m.defaults), m.id


def test_required_coverage() -> None:
    names = [
        # OpenAI
        "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-5", "gpt-5-mini",
        "gpt-5-nano", "o1", "o3", "o3-mini", "o4-mini", "gpt-oss-20b", "gpt-oss-120b",
        "gpt-image-1", "dall-e-2", "dall-e-3", "whisper-1", "gpt-4o-transcribe", "tts-1",
        "tts-1-hd", "gpt-4o-mini-tts", "text-embedding-3-small", "text-embedding-3-large",
        "text-embedding-ada-002", "gpt-3.5-turbo", "gpt-4", "gpt-4-turbo", "sora-2",
        # Anthropic
        "claude-3-haiku", "claude-3-sonnet", "claude-3-opus", "claude-3-5-haiku",
        "claude-3-5-sonnet", "claude-3-7-sonnet", "claude-sonnet-4", "claude-opus-4",
        "claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-5",
        # Google
        "gemini-1.5-flash", "gemini-1.5-pro", "gemini-2.0-flash", "gemini-2.0-flash-lite",
        "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro", "gemini-3-pro",
        "gemini-3-flash", "text-embedding-004", "gemini-embedding-001", "imagen-3", "imagen-4",
        "veo-2", "veo-3",
        # Mistral, Cohere
        "mistral-small", "mistral-medium", "mistral-large", "mixtral-8x7b", "mixtral-8x22b",
        "codestral", "ministral-8b", "mistral-embed", "pixtral-12b", "command-r",
        "command-r-plus", "command-a", "embed-english-v3.0", "embed-v4.0",
        # open models
        "llama-3-8b", "llama-3.1-70b", "llama-3.2-3b", "llama-3.3-70b", "llama-4-scout",
        "llama-4-maverick", "qwen2.5-7b", "Qwen3-30B-A3B", "Qwen3-235B-A22B", "qwen3-coder",
        "deepseek-v3", "deepseek-r1", "gemma-2-9b", "gemma-3-27b", "phi-3-mini", "phi-4",
        "FLUX.1-dev", "FLUX.1-schnell", "sd-1.5", "sd-2.1", "sdxl", "sd3-medium",
        "sd3.5-large", "wan2.1-t2v-14b", "wan2.2-t2v-a14b", "cogvideox-2b", "cogvideox-5b",
        "hunyuanvideo", "ltx-video", "mochi-1",
        # closed video
        "sora", "gen-3-alpha", "gen-4", "kling-v2", "pika-2.2",
    ]
    missing = [n for n in names if lookup(n) is None]
    assert not missing


def test_every_calibration_model_is_registered_with_its_size() -> None:
    path = REFERENCE / "mlenergy-calibration.csv"
    if not path.is_file():
        pytest.skip("reference data not present")
    precisions = {"bfloat16": "bf16", "fp8": "fp8", "float16": "fp16", "mxfp4": "fp4"}
    with path.open(newline="") as fh:
        rows = {r["model_id"]: r for r in csv.DictReader(fh)}

    def near(registered: float, reference: float) -> bool:
        # the reference rounds sizes to the model's name (Qwen3-14B: 14.8B on its model
        # card, 14.0 in the leaderboard; gpt-oss-20b: 3.6B active, 4.0)
        return abs(registered - reference) <= max(0.6, 0.07 * reference)

    for model_id, row in rows.items():
        info = lookup(model_id)
        assert info is not None and info.id == model_id, model_id
        assert near(info.total_params_b, float(row["total_params_b"])), model_id
        assert near(info.active_params_b, float(row["active_params_b"])), model_id
        assert info.precision == precisions[row["precision"]], model_id
        assert info.disclosed


def test_no_two_models_share_a_name() -> None:
    _registry.all_models()
    assert all(len(v) == 1 for v in _registry._index.values())
    assert all(len(v) == 1 for v in _registry._squashed.values())


# ---------------------------------------------------------------------------- matching
MATCHES = [
    # plain, case, provider prefixes
    ("gpt-4o", None, "openai/gpt-4o"),
    ("GPT-4o", None, "openai/gpt-4o"),
    ("openai/gpt-4o", None, "openai/gpt-4o"),
    ("azure/gpt-4o-mini", None, "openai/gpt-4o-mini"),
    ("models/gemini-2.5-pro", "google", "google/gemini-2.5-pro"),
    ("gemini/gemini-1.5-flash", None, "google/gemini-1.5-flash"),
    ("anthropic/claude-3-5-sonnet-20241022", None, "anthropic/claude-3-5-sonnet"),
    ("vertex_ai/claude-3-5-sonnet-v2@20241022", None, "anthropic/claude-3-5-sonnet"),
    ("publishers/google/models/gemini-2.0-flash-001", None, "google/gemini-2.0-flash"),
    # Bedrock ids
    ("anthropic.claude-3-5-sonnet-20241022-v2:0", "bedrock", "anthropic/claude-3-5-sonnet"),
    ("us.anthropic.claude-3-5-haiku-20241022-v1:0", None, "anthropic/claude-3-5-haiku"),
    ("eu.anthropic.claude-sonnet-4-20250514-v1:0", None, "anthropic/claude-sonnet-4"),
    ("bedrock/meta.llama3-1-70b-instruct-v1:0", None, "meta-llama/Llama-3.1-70B-Instruct"),
    ("mistral.mistral-large-2407-v1:0", None, "mistralai/Mistral-Large-Instruct-2411"),
    ("cohere.command-r-plus-v1:0", None, "CohereForAI/c4ai-command-r-plus"),
    ("amazon.nova-pro-v1:0", None, "amazon/nova-pro"),
    # Vertex
    ("claude-3-5-sonnet-v2@20241022", "vertex", "anthropic/claude-3-5-sonnet"),
    ("claude-sonnet-4-5@20250929", None, "anthropic/claude-sonnet-4-5"),
    # date and version suffixes
    ("gpt-4o-2024-08-06", None, "openai/gpt-4o"),
    ("claude-3-5-sonnet-latest", None, "anthropic/claude-3-5-sonnet"),
    ("gpt-3.5-turbo-0125", None, "openai/gpt-3.5-turbo"),
    ("gemini-2.5-flash-preview-05-20", None, "google/gemini-2.5-flash"),
    ("gemini-1.5-pro-001", None, "google/gemini-1.5-pro"),
    ("gemini-2.0-flash-exp", None, "google/gemini-2.0-flash"),
    ("mistral-large-2411", None, "mistralai/Mistral-Large-Instruct-2411"),
    ("command-r-plus-08-2024", None, "CohereForAI/c4ai-command-r-plus"),
    ("o3-mini-2025-01-31", None, "openai/o3-mini"),
    ("gpt-5-2025-08-07", None, "openai/gpt-5"),
    ("tts-1-hd-1106", None, "openai/tts-1-hd"),
    ("gpt-4-0125-preview", None, "openai/gpt-4-turbo"),  # a preview of another model
    ("ft:gpt-4o-mini-2024-07-18:acme::9abc", "openai", "openai/gpt-4o-mini"),
    # Azure deployment names
    ("gpt-35-turbo", "azure", "openai/gpt-3.5-turbo"),
    ("gpt-35-turbo-16k", "azure", "openai/gpt-3.5-turbo"),
    ("gpt-4o-mini", "azure", "openai/gpt-4o-mini"),
    # Hugging Face ids, with and without the org; serving-platform variants
    ("meta-llama/Llama-3.1-8B-Instruct", None, "meta-llama/Llama-3.1-8B-Instruct"),
    ("Llama-3.1-8B-Instruct", None, "meta-llama/Llama-3.1-8B-Instruct"),
    ("meta-llama/llama-3.1-8b-instruct", None, "meta-llama/Llama-3.1-8B-Instruct"),
    ("together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", None,
     "meta-llama/Llama-3.3-70B-Instruct"),
    ("groq/llama-3.3-70b-versatile", None, "meta-llama/Llama-3.3-70B-Instruct"),
    ("llama3.1:8b", None, "meta-llama/Llama-3.1-8B-Instruct"),
    ("qwen3:8b", None, "Qwen/Qwen3-8B"),
    ("black-forest-labs/FLUX.1-dev", None, "black-forest-labs/FLUX.1-dev"),
    ("Wan-AI/Wan2.1-T2V-14B", None, "Wan-AI/Wan2.1-T2V-14B-Diffusers"),
    ("runwayml/stable-diffusion-v1-5", None, "stable-diffusion-v1-5/stable-diffusion-v1-5"),
    # longest known prefix
    ("gpt-4o-mini-search-preview", None, "openai/gpt-4o-mini"),
    ("gpt-4o-audio-preview-2024-12-17", None, "openai/gpt-4o"),
    ("gpt-5.1", None, "openai/gpt-5.1"),
    ("imagen-4.0-ultra-generate-001", None, "google/imagen-4"),
    ("gemini-2.5-flash-image-preview", None, "google/gemini-2.5-flash-image"),
    ("deepseek-chat", "deepseek", "deepseek-ai/DeepSeek-V3"),
    ("whisper-large-v3", None, "openai/whisper-large-v3"),
    # a Bedrock vendor glued back to a vendor-less model name (deepseek.v3.2 -> deepseek-v3.2)
    ("us.deepseek.v3.2", "bedrock", "deepseek-ai/DeepSeek-V3.2-Exp"),
    ("global.zai.glm-5.3", "bedrock", "zai-org/GLM-5"),
    # packagings and quantizations of the same weights
    ("google/gemma-2b-it-sfp-cpp", None, "google/gemma-2b"),
    ("meta-llama/Llama-Guard-3-8B-INT8", None, "meta-llama/Llama-Guard-3-8B"),
    # a vendor word glued to the name
    ("meta-llama/Meta-Llama-3.1-8B", None, "meta-llama/Llama-3.1-8B-Instruct"),
    # a prefix cut may drop a parameter count, never a minor version
    ("mistral-large-3-675b-instruct", None, "mistralai/Mistral-Large-3-675B-Instruct-2512"),
    ("gpt-5.5-pro-2026-04-23", None, "openai/gpt-5.5-pro"),
    # a moving name resolves to today's target (data/aliases.json)
    ("gemini-pro-latest", None, "google/gemini-3.1-pro"),
]


@pytest.mark.parametrize(("name", "provider", "expected"), MATCHES)
def test_name_matching(name: str, provider: str | None, expected: str) -> None:
    info = lookup(name, provider)
    assert info is not None, name
    assert info.id == expected


@given(st.text(max_size=24))
def test_norm_and_squash_fast_paths_equal_their_regexes(name: str) -> None:
    pat = _names.patterns()
    assert _names.norm(name) == pat.sep.sub("-", name.strip().lower())
    assert _names.squash(name) == pat.squash.sub("", name.lower())


@pytest.mark.parametrize("name", ["my-custom-deployment", "azure/prod-chat-eu", "", "x",
                                  "openai/", "totally-unknown-model-7b", "gpt-5.9", "gemini-9.9"])
def test_unknown_names_return_none(name: str) -> None:
    assert lookup(name) is None
    assert lookup(name, "azure") is None


def test_odd_arguments_are_not_errors() -> None:
    assert lookup(None) is None  # type: ignore[arg-type]
    assert lookup(["gpt-4o"]) is None  # type: ignore[arg-type]
    assert lookup("gpt-4o", 3) is None  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- registration
def test_register_model_and_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    # the test's callback goes away with the test (the registry has no way to unregister)
    monkeypatch.setattr(_registry, "_callbacks", list(_registry._callbacks))
    changes: list[int] = []
    on_registry_change(lambda: changes.append(1))
    assert lookup("acme-chat-large") is None
    info = register_model("acme/acme-chat-large", total_params_b=70, active_params_b=12,
                          total_params_b_low=50, total_params_b_high=90,
                          precision="FP8", aliases=["acme-large"], provider="acme", year=2025)
    assert isinstance(info, ModelInfo)
    assert (info.architecture, info.precision, info.disclosed) == ("moe", "fp8", False)
    assert info.active_params_b_low == info.active_params_b_high == 12
    assert lookup("acme-chat-large") is info  # the cache was dropped
    assert lookup("acme-large-2025-01-01") is info
    assert lookup("ACME/acme-chat-large") is info
    assert changes
    assert info in all_models()


def test_register_dense_defaults_and_override_builtin() -> None:
    info = register_model("my-diffuser", total_params_b=3, modality="image", family="sdxl",
                          defaults={"width": 768, "height": 768, "steps": 30})
    assert (info.architecture, info.active_params_b, info.disclosed) == ("dit", 3.0, True)
    assert info.total_params_b_low == info.total_params_b_high == 3.0
    assert info.source == "user" and info.provider == "custom"
    assert dict(info.defaults) == {"width": 768, "height": 768, "steps": 30}
    mine = register_model("gpt-4o", total_params_b=300, provider="openai")
    assert lookup("gpt-4o") is mine  # the user's registration wins


BAD = [
    ({"name": ""}, "name"),
    ({"total_params_b": -1}, "total_params_b"),
    ({"total_params_b": True}, "total_params_b"),
    ({"total_params_b": "8"}, "total_params_b"),
    ({"total_params_b": float("nan")}, "total_params_b"),
    ({"total_params_b": 1e9}, "total_params_b"),
    ({"active_params_b": 20}, "active_params_b"),
    ({"total_params_b_low": 12}, "total_params_b"),
    ({"active_params_b_high": 100, "active_params_b": 5}, "active_params_b"),
    ({"modality": "smell"}, "modality"),
    ({"architecture": "rnn"}, "architecture"),
    ({"precision": "fp7"}, "precision"),
    ({"defaults": {"steps": -3}}, "defaults"),
    ({"defaults": [1, 2]}, "defaults"),
    ({"aliases": "one-string"}, "aliases"),
    ({"year": 20}, "year"),
    ({"provider": ""}, "provider"),
    ({"source": ""}, "source"),
]


@pytest.mark.parametrize(("changes", "field"), BAD)
def test_bad_registration_names_the_field(changes: dict[str, object], field: str) -> None:
    kwargs: dict[str, object] = {"name": "bad-model", "total_params_b": 10.0, **changes}
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=f"'{field}"):
        register_model(name, **kwargs)  # type: ignore[arg-type]


def test_load_models_file(tmp_path: Path) -> None:
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"models": [
        {"id": "acme/tiny", "provider": "acme", "total_params_b": 1.5, "year": 2025,
         "source": "our model card"},
        {"id": "acme/video", "provider": "acme", "modality": "video", "family": "wan",
         "total_params_b": 14, "defaults": {"width": 832, "height": 480, "frames": 81,
                                            "fps": 16, "steps": 50},
         "year": 2025, "source": "our model card", "aliases": ["acme-video-v1"]},
    ]}))
    assert load_models_file(path) == 2
    assert lookup("acme/tiny").total_params_b == 1.5  # type: ignore[union-attr]
    assert lookup("acme-video-v1").modality == "video"  # type: ignore[union-attr]
    # a bare list works too
    path.write_text(json.dumps([{"name": "acme/other", "total_params_b": 2}]))
    assert load_models_file(str(path)) == 1


def test_builtin_file_loads_through_the_user_path(tmp_path: Path) -> None:
    builtin = Path(_registry.__file__).with_name("data") / "models.json"
    assert load_models_file(builtin) == len(json.loads(builtin.read_text())["models"])


@pytest.mark.parametrize(("content", "match"), [
    ("not json", "not valid JSON"),
    ('{"models": 3}', "expected a list"),
    ('[{"total_params_b": 3}]', "entry 0.*'id'"),
    ('[{"id": "a"}]', "entry 0.*'total_params_b'"),
    ('[{"id": "a", "total_params_b": 3}, {"id": "b", "total_params_b": 3, "modality": "x"}]',
     "entry 1.*'modality'"),
    ('[{"id": "a", "total_params_b": 3, "colour": "red"}]', "entry 0"),
])
def test_bad_models_file(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "models.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        load_models_file(path)
    assert lookup("a") is None  # nothing half-registered


def test_missing_models_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="can't read"):
        load_models_file(tmp_path / "nope.json")


# ---------------------------------------------------------------------------- the cache
def test_lookup_cache_is_bounded_and_answers_are_stable() -> None:
    first = lookup("gpt-4o-2024-08-06", "openai")
    for i in range(_registry.CACHE_SIZE + 50):
        lookup(f"flood-{i}")
    total = sum(len(d) for d in _registry._cache.values())
    assert total <= _registry.CACHE_SIZE
    assert _registry._cached == total
    assert lookup("gpt-4o-2024-08-06", "openai") is first
    # a repeated lookup is answered from the cache
    assert _registry._cache["openai"]["gpt-4o-2024-08-06"] is first


def test_registry_loads_lazily() -> None:
    import subprocess
    import sys

    code = ("import wattmeter; from wattmeter.estimate import _registry as r; "
            "assert r._models is None; r.lookup('gpt-4o'); assert r._models is not None")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_aliases_file_unreadable_or_not_json_names_the_file(tmp_path: Path) -> None:
    from wattmeter.estimate._aliases import read_aliases_file

    with pytest.raises(ValueError, match=r"aliases file .*missing\.json.*can't read it"):
        read_aliases_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"aliases file .*bad\.json.*not valid JSON"):
        read_aliases_file(bad)
