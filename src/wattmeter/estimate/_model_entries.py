"""A registry entry: `ModelInfo`, its vocabularies, and validating one from input or a file."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

__all__ = [
    "ARCHITECTURES",
    "MODALITIES",
    "PRECISIONS",
    "SHAPE_KEYS",
    "ModelInfo",
    "build_model",
    "model_from_entry",
    "read_json_file",
    "read_models_file",
]

MODALITIES = ("text", "embeddings", "image", "video", "speech", "transcription")
ARCHITECTURES = ("dense", "moe", "hybrid", "encoder", "encoder-decoder", "dit", "unet",
                 "autoregressive")
#: Architecture facts a registry entry's ``shape`` may give (README, "Your own models"): text
#: models' attention and expert layout, Mamba layers; diffusion latent geometry and the weights
#: each latent token passes through (token_params_b), and a U-Net's attention by level and
#: share of convolutions (scripts/unet_geometry.py). Numbers.
SHAPE_KEYS = frozenset((
    "layers", "attention_layers", "heads", "kv_heads", "head_dim", "kv_lora_rank",
    "rope_head_dim", "sliding_window", "sliding_layers", "experts", "experts_active",
    "mamba_layers", "mamba_state", "width", "vae", "patch", "temporal", "cfg",
    "text_encoder_b", "text_tokens", "token_params_b", "attention_layers_x_width",
    "conv_share"))
#: Canonical precision names, and the spellings accepted for each.
PRECISIONS = {
    "fp32": "fp32", "float32": "fp32", "bf16": "bf16", "bfloat16": "bf16", "fp16": "fp16",
    "float16": "fp16", "half": "fp16", "fp8": "fp8", "float8": "fp8", "e4m3": "fp8",
    "int8": "int8", "w8a8": "int8", "fp4": "fp4", "mxfp4": "fp4", "nvfp4": "fp4",
    "int4": "int4", "w4a16": "int4", "awq": "int4", "gptq": "int4",
}
_DEFAULT_ARCH = {"text": "dense", "embeddings": "encoder", "image": "dit", "video": "dit",
                 "speech": "dense", "transcription": "encoder-decoder"}
#: Largest parameter count accepted (billions): 100T, well past any model in existence.
_MAX_PARAMS_B = 100_000.0


class ModelInfo(NamedTuple):
    """What the estimator needs to know about one model, with where each number comes from.

    Sizes are in billions of parameters with a low/central/high range (equal when disclosed);
    for diffusion models they count the denoiser only. ``defaults`` holds generation defaults
    from the model card (width, height, steps, frames, fps, seconds).
    """

    id: str
    provider: str
    modality: str
    architecture: str
    family: str | None
    total_params_b: float
    total_params_b_low: float
    total_params_b_high: float
    active_params_b: float
    active_params_b_low: float
    active_params_b_high: float
    precision: str | None
    disclosed: bool
    defaults: Mapping[str, float]
    source: str
    year: int
    notes: str
    aliases: tuple[str, ...]
    #: architecture facts (SHAPE_KEYS) with their source under "source"; empty if unknown
    shape: Mapping[str, Any] = MappingProxyType({})


def read_json_file(path: str | os.PathLike[str], what: str) -> Any:
    """The parsed JSON of a user's data file; ``ValueError`` naming `what` and the path if it
    can't be read or parsed."""
    import json  # lazy: only a user's own data file needs it

    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except OSError as exc:
        raise ValueError(f"{what} {os.fspath(path)!r}: can't read it ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"{what} {os.fspath(path)!r}: not valid JSON ({exc})") from None


def read_models_file(path: str | os.PathLike[str]) -> list[ModelInfo]:
    """The validated models of a JSON file (``{"models": [...]}`` or a bare list).

    Raises ``ValueError`` naming the file (and the entry, for a bad one).
    """
    data = read_json_file(path, "models file")
    entries = data.get("models") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ValueError(f"models file {os.fspath(path)!r}: expected a list of models or an "
                         "object with a 'models' list")
    infos: list[ModelInfo] = []
    for i, entry in enumerate(entries):
        try:
            infos.append(model_from_entry(entry))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"models file {os.fspath(path)!r}, entry {i}: {exc}") from None
    return infos


def model_from_entry(entry: Any) -> ModelInfo:
    """A `ModelInfo` from one JSON object of a models file (``id`` or ``name`` names it)."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"expected an object, got {type(entry).__name__}")
    fields = dict(entry)
    name = fields.pop("id", None) or fields.pop("name", None)
    if name is None:
        raise ValueError("field 'id': missing (the model's name)")
    if "total_params_b" not in fields:
        raise ValueError(f"model {name!r}: field 'total_params_b' is missing")
    unknown = sorted(set(fields) - _FIELDS)
    if unknown:
        raise ValueError(f"model {name!r}: field {unknown[0]!r} is unknown; expected some of "
                         + ", ".join(sorted(_FIELDS | {"id"})))
    fields["aliases"] = tuple(fields.get("aliases") or ())
    return build_model(name, **fields)


_FIELDS = frozenset((
    "provider", "modality", "architecture", "family", "total_params_b", "total_params_b_low",
    "total_params_b_high", "active_params_b", "active_params_b_low", "active_params_b_high",
    "precision", "disclosed", "defaults", "source", "year", "notes", "aliases", "shape"))


def _num(field: str, value: Any, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"field {field!r}: got {value!r}; expected a number of billions of "
                         "parameters, e.g. 8 or 0.35")
    v = float(value)
    if not (math.isfinite(v) and 0 < v <= _MAX_PARAMS_B):
        raise ValueError(f"field {field!r}: got {value!r}; expected a number > 0 and "
                         f"<= {_MAX_PARAMS_B:g} (billions of parameters)")
    return v


def build_model(name: Any, *, total_params_b: Any, active_params_b: Any = None,
                modality: Any = "text", architecture: Any = None, family: Any = None,
                provider: Any = "custom", precision: Any = None, total_params_b_low: Any = None,
                total_params_b_high: Any = None, active_params_b_low: Any = None,
                active_params_b_high: Any = None, defaults: Any = None, aliases: Any = (),
                source: Any = "user", year: Any = None, notes: Any = "",
                disclosed: Any = None, shape: Any = None) -> ModelInfo:
    """A validated `ModelInfo` (`register_model`'s arguments); ``ValueError`` names the field."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"field 'name': got {name!r}; expected a non-empty model name")
    name = name.strip()
    total = _num("total_params_b", total_params_b)
    assert total is not None
    dense = active_params_b is None
    active = _num("active_params_b", active_params_b, optional=True) or total
    if active > total:
        raise ValueError(f"field 'active_params_b': got {active:g}, more than total_params_b "
                              f"{total:g}; active parameters (MoE) can't exceed the total")
    t_lo = _num("total_params_b_low", total_params_b_low, optional=True)
    t_hi = _num("total_params_b_high", total_params_b_high, optional=True)
    a_lo = _num("active_params_b_low", active_params_b_low, optional=True)
    a_hi = _num("active_params_b_high", active_params_b_high, optional=True)
    ranged = any(v is not None for v in (t_lo, t_hi, a_lo, a_hi))
    t_lo = total if t_lo is None else t_lo
    t_hi = total if t_hi is None else t_hi
    a_lo = (t_lo if dense else active) if a_lo is None else a_lo
    a_hi = (t_hi if dense else active) if a_hi is None else a_hi
    for field, lo, mid, hi in (("total_params_b", t_lo, total, t_hi),
                                    ("active_params_b", a_lo, active, a_hi)):
        if not lo <= mid <= hi:
                 raise ValueError(f"field {field!r}: need {field}_low <= {field} <= {field}_high, "
                                  f"got {lo:g} <= {mid:g} <= {hi:g}")
    if a_lo > t_lo or a_hi > t_hi:
        raise ValueError("field 'active_params_b_low'/'active_params_b_high': the active range "
                              "can't exceed the total range")
    if modality not in MODALITIES:
        raise ValueError(f"field 'modality': got {modality!r}; expected one of "
                              + ", ".join(MODALITIES))
    if architecture is None:
        architecture = "moe" if active < total and modality == "text" else _DEFAULT_ARCH[modality]
    if architecture not in ARCHITECTURES:
        raise ValueError(f"field 'architecture': got {architecture!r}; expected one of "
                              + ", ".join(ARCHITECTURES))
    if precision is not None:
        canon = (PRECISIONS.get(precision.strip().lower())
                      if isinstance(precision, str) else None)
        if canon is None:
                 raise ValueError(f"field 'precision': got {precision!r}; expected one of "
                                  + ", ".join(sorted(set(PRECISIONS.values()))) + " (or None)")
        precision = canon
    if family is not None and (not isinstance(family, str) or not family):
        raise ValueError(f"field 'family': got {family!r}; expected a short name such as "
                              "'flux' or None")
    if not isinstance(provider, str) or not provider.strip():
        raise ValueError(f"field 'provider': got {provider!r}; expected a non-empty string")
    clean_defaults: dict[str, float] = {}
    if defaults is not None:
        if not isinstance(defaults, Mapping):
                 raise ValueError(f"field 'defaults': got {defaults!r}; expected a mapping such as "
                                  "{'width': 1024, 'height': 1024, 'steps': 28}")
        for key, value in defaults.items():
                 if (not isinstance(key, str) or isinstance(value, bool)
                         or not isinstance(value, (int, float)) or not math.isfinite(value)
                         or value <= 0):
                     raise ValueError(f"field 'defaults': entry {key!r}: {value!r}; expected a "
                                      "positive number")
                 clean_defaults[key] = value
    if isinstance(aliases, str) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise ValueError(f"field 'aliases': got {aliases!r}; expected a list of names")
    if year is None:
        import time

        year = time.gmtime().tm_year
    if isinstance(year, bool) or not isinstance(year, int) or not 1950 <= year <= 2100:
        raise ValueError(f"field 'year': got {year!r}; expected a year such as 2025")
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"field 'source': got {source!r}; expected where the sizes come from")
    if not isinstance(notes, str):
        raise ValueError(f"field 'notes': got {notes!r}; expected text")
    if disclosed is None:
        disclosed = not ranged or (t_lo == t_hi and a_lo == a_hi)
    return ModelInfo(name, provider.strip().lower(), modality, architecture, family, total,
                          t_lo, t_hi, active, a_lo, a_hi, precision, bool(disclosed),
                          MappingProxyType(clean_defaults), source, year, notes,
                          tuple(a.strip() for a in aliases), _shape(shape))


def _shape(shape: Any) -> Mapping[str, Any]:
    """A validated ``shape``: known architecture keys with positive numbers, and a source."""
    if not shape:
        return MappingProxyType({})
    if not isinstance(shape, Mapping):
        raise ValueError(f"field 'shape': got {shape!r}; expected a mapping such as "
                         "{'layers': 32, 'kv_heads': 8, 'head_dim': 128, 'source': '...'}")
    clean: dict[str, Any] = {}
    for key, value in shape.items():
        if key == "source":
            if not isinstance(value, str) or not value.strip():
                raise ValueError("field 'shape': 'source' must say where the numbers come from")
            clean[key] = value
            continue
        if key not in SHAPE_KEYS:
            raise ValueError(f"field 'shape': key {key!r} is unknown; expected some of "
                             + ", ".join(sorted(SHAPE_KEYS)))
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or value <= 0):
            raise ValueError(f"field 'shape': {key}: got {value!r}; expected a positive number")
        if key == "conv_share" and value > 1:
            raise ValueError(f"field 'shape': conv_share: got {value!r}; expected a share of "
                             "the MACs, at most 1")
        clean[key] = float(value)
    if "source" not in clean:
        raise ValueError("field 'shape': add 'source' (the config or paper the numbers come "
                         "from)")
    return MappingProxyType(clean)
