"""The model registry: parameter counts, architecture and defaults of known models, by name.

`lookup` turns whatever name a call carries (``openai/gpt-4o-2024-08-06``, a Bedrock id, an
Azure deployment name, a Hugging Face id) into a `ModelInfo`. It is on the hot path of every
metered call, so answers are memoized; the data file loads lazily on the first lookup.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._aliases import DatedAlias
from ._model_entries import (
    ARCHITECTURES,
    MODALITIES,
    PRECISIONS,
    ModelInfo,
    build_model,
    read_models_file,
)
from ._names import boundaries, norm, patterns, squash, strip_once, variants

__all__ = [
    "ARCHITECTURES",
    "MODALITIES",
    "PRECISIONS",
    "ModelInfo",
    "all_models",
    "dated_aliases",
    "load_models_file",
    "lookup",
    "on_registry_change",
    "register_model",
]

#: Distinct (name, provider) answers kept; the cache is emptied when it reaches this size.
CACHE_SIZE = 4096


# ---------------------------------------------------------------------------- state
_lock = threading.RLock()
_models: dict[str, ModelInfo] | None = None  # canonical id -> info, builtin then user
_index: dict[str, tuple[ModelInfo, ...]] = {}  # normalized name -> candidates
_squashed: dict[str, tuple[ModelInfo, ...]] = {}  # name without separators -> candidates
#: provider -> name -> answer; two plain subscripts make a repeated lookup ~100 ns.
_cache: dict[str | None, dict[str, ModelInfo | None]] = {}
_cached = 0  # answers in _cache, bounded by CACHE_SIZE
_callbacks: list[Callable[[], None]] = []
_builtin: dict[str, ModelInfo] = {}  # the models of the built-in file, to tell user ones apart
_dated: dict[str, DatedAlias] = {}  # moving names (data/aliases.json)


def lookup(name: str, provider: str | None = None) -> ModelInfo | None:
    """The registered model `name` refers to, or None when it is unknown.

    Matching is case-insensitive and sees through provider prefixes (``openai/``,
    ``models/``, Bedrock ``us.anthropic.``), date and version suffixes (``-2024-08-06``,
    ``-latest``, ``@20241022``, ``-v2:0``), packagings (``-GGUF``, ``-4bit``) and finally takes
    the longest known prefix (``gpt-4o-mini-search-preview`` -> gpt-4o-mini), never cut inside
    a version number. Moving names (``chat-latest``) follow ``data/aliases.json``. `provider`
    breaks ties only.
    """
    try:
        return _cache[provider][name]
    except (KeyError, TypeError):
        return _lookup_slow(name, provider)


def _lookup_slow(name: str, provider: str | None) -> ModelInfo | None:
    if _models is None:
        _ensure_loaded()
    if not isinstance(name, str) or not (provider is None or isinstance(provider, str)):
        return None
    if name.startswith("ft:"):  # OpenAI fine-tune: ft:BASE:org:suffix:id
        base = name.split(":")[1]
        result = lookup(base, provider) if base else None
    else:
        result = _match(name, provider)
    global _cached
    with _lock:
        if _cached >= CACHE_SIZE:
            _cache.clear()
            _cached = 0
        _cache.setdefault(provider, {})[name] = result
        _cached += 1
    return result


def all_models() -> list[ModelInfo]:
    """Every registered model (built-in and user-registered), sorted by provider and id."""
    models = _ensure_loaded()
    return sorted(models.values(), key=lambda m: (m.provider, m.id.lower()))


def dated_aliases() -> dict[str, tuple[DatedAlias, ModelInfo | None]]:
    """Every moving name (``chat-latest``, ...) with its dated row and the model it resolves to."""
    _ensure_loaded()
    return {name: (row, lookup(name)) for name, row in sorted(_dated.items())}


def on_registry_change(callback: Callable[[], None]) -> None:
    """Call `callback()` whenever a model is registered (so derived caches can be dropped)."""
    _callbacks.append(callback)


# ---------------------------------------------------------------------------- registration
def register_model(
    name: str,
    *,
    total_params_b: float,
    active_params_b: float | None = None,
    modality: str = "text",
    architecture: str | None = None,
    family: str | None = None,
    provider: str = "custom",
    precision: str | None = None,
    total_params_b_low: float | None = None,
    total_params_b_high: float | None = None,
    active_params_b_low: float | None = None,
    active_params_b_high: float | None = None,
    defaults: Mapping[str, float] | None = None,
    aliases: Iterable[str] = (),
    source: str = "user",
    year: int | None = None,
    notes: str = "",
    disclosed: bool | None = None,
    shape: Mapping[str, Any] | None = None,
) -> ModelInfo:
    """Add (or replace) a model so `lookup` and `estimate` know it; returns its `ModelInfo`.

    Sizes are billions of parameters; ``active_params_b`` (MoE) defaults to the total, and
    the low/high bounds default to the central value (a disclosed size). ``shape`` gives the
    architecture from the model's published config (``SHAPE_KEYS`` and a ``source``;
    docs/models.md). Bad input raises ``ValueError`` naming the field.
    """
    info = build_model(name, total_params_b=total_params_b, active_params_b=active_params_b,
                       modality=modality, architecture=architecture, family=family,
                       provider=provider, precision=precision,
                       total_params_b_low=total_params_b_low,
                       total_params_b_high=total_params_b_high,
                       active_params_b_low=active_params_b_low,
                       active_params_b_high=active_params_b_high, defaults=defaults,
                       aliases=aliases, source=source, year=year, notes=notes, disclosed=disclosed,
                       shape=shape)
    models = _ensure_loaded()
    with _lock:
        models[info.id] = info
        _rebuild_index(models)
        _clear_cache()
    for callback in list(_callbacks):
        callback()
    return info


def load_models_file(path: str | os.PathLike[str]) -> int:
    """Register every model of a JSON file (same schema as the built-in models.json).

    The file is either ``{"models": [...]}`` or a bare list of model objects; each object
    takes `register_model`'s arguments with ``id`` (or ``name``) as the name. Returns how many
    models were registered; a bad entry raises ``ValueError`` naming the file and entry.
    """
    infos = read_models_file(path)
    models = _ensure_loaded()
    with _lock:
        for info in infos:
            models[info.id] = info
        _rebuild_index(models)
        _clear_cache()
    for callback in list(_callbacks):
        callback()
    return len(infos)


# ---------------------------------------------------------------------------- loading, index
def _ensure_loaded() -> dict[str, ModelInfo]:
    global _models
    models = _models
    if models is not None:
        return models
    with _lock:
        if _models is None:
            from pathlib import Path

            from ._aliases import read_aliases_file

            data = Path(__file__).with_name("data")
            loaded = {info.id: info for info in read_models_file(data / "models.json")}
            _builtin.clear()
            _builtin.update(loaded)
            _dated.clear()
            _dated.update(read_aliases_file(data / "aliases.json"))
            _rebuild_index(loaded)
            _models = loaded
        return _models


def _keys(info: ModelInfo) -> set[str]:
    keys = {norm(info.id), *(norm(a) for a in info.aliases)}
    if "/" in info.id:
        bare = norm(info.id.rsplit("/", 1)[1])
        keys.add(bare)
        keys.add(patterns().generic_tail.sub("", bare))
    return {k for k in keys if k}


def _rebuild_index(models: Mapping[str, ModelInfo]) -> None:
    index: dict[str, list[ModelInfo]] = {}
    squashed: dict[str, list[ModelInfo]] = {}
    for info in models.values():
        for key in _keys(info):
            index.setdefault(key, []).append(info)
            squashed.setdefault(squash(key), []).append(info)
    _index.clear()
    _index.update({k: _dedupe(v) for k, v in index.items()})
    _squashed.clear()
    _squashed.update({k: _dedupe(v) for k, v in squashed.items()})
    _add_dated(models)


def _add_dated(models: Mapping[str, ModelInfo]) -> None:
    """Index each moving name under the model its target resolves to today.

    It replaces a built-in model's static alias of the same name (written earlier), but not a
    model the user registered under that name.
    """
    for name, row in _dated.items():
        key = norm(name)
        if any(_builtin.get(i.id) is not i for i in _index.get(key, ())):
            continue  # the user's registration wins
        info = _match(row.target, None)
        if info is None:
            continue  # a target that no longer resolves: the name falls back to matching
        _index[key] = (info,)
        _squashed[squash(key)] = (info,)


def _dedupe(infos: list[ModelInfo]) -> tuple[ModelInfo, ...]:
    if len(infos) == 1:  # most keys: no work
        return (infos[0],)
    seen: dict[str, ModelInfo] = {}
    for info in infos:
        seen[info.id] = info
    # a later registration (the user's) wins ties, so it goes first
    return tuple(reversed(list(seen.values())))


# ---------------------------------------------------------------------------- matching
_PROVIDER_ALIASES = {
    "gemini": "google", "vertex": "google", "vertex_ai": "google", "google-genai": "google",
    "google_genai": "google", "googleai": "google", "mistralai": "mistral",
    "azure": "openai", "azure_openai": "openai", "azure-openai": "openai",
    "together": None, "together_ai": None, "groq": None, "bedrock": None, "huggingface": None,
}


def _pick(candidates: tuple[ModelInfo, ...] | None, provider: str | None) -> ModelInfo | None:
    if not candidates:
        return None
    if len(candidates) > 1 and provider:
        p = provider.strip().lower()
        p = _PROVIDER_ALIASES.get(p, p) or p
        for info in candidates:
            if info.provider == p:
                return info
    return candidates[0]


def _exact(key: str, provider: str | None) -> ModelInfo | None:
    info = _pick(_index.get(key), provider)
    if info is None:
        info = _pick(_squashed.get(squash(key)), provider)
    return info


def _match(name: str, provider: str | None) -> ModelInfo | None:
    if not name.strip():
        return None
    stripped_forms: list[str] = []
    for v in variants(name):
        key = v
        while True:
            info = _exact(key, provider)
            if info is not None:
                return info
            nxt = strip_once(key)
            if nxt == key:
                break
            key = nxt
        stripped_forms.append(key)
    # longest known prefix at a separator boundary (variants of a known model)
    for form in stripped_forms:
        cuts = boundaries(form)
        for cut in reversed(cuts):
            prefix = form[:cut]
            if len(squash(prefix)) < 2:
                continue
            info = _exact(prefix, provider)
            if info is not None:
                return info
    return None


def _clear_cache() -> None:
    global _cached
    _cache.clear()
    _cached = 0


def _reset_for_tests() -> None:
    """Forget user registrations and the cache (the built-in file reloads on next use)."""
    global _models
    with _lock:
        _models = None
        _index.clear()
        _squashed.clear()
        _clear_cache()
    for callback in list(_callbacks):
        callback()
