"""What is being estimated: a registered model, a `ModelSpec`, or a size class guessed from a name.

Also holds the input checks, so bad input fails with a `ValueError` naming the field, the
value and the valid form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from .._text import MAX_NAME_CHARS, shorten
from .._usage import OPERATIONS
from ._physics import constants
from ._records import Deployment, ModelSpec

__all__ = [
    "MODALITY_OF",
    "Subject",
    "check_deployment",
    "check_operation",
    "default_operation",
    "num",
    "resolve",
]

#: The physics each operation uses.
MODALITY_OF = {"chat": "text", "completion": "text", "embeddings": "embeddings",
               "image": "image", "video": "video", "speech": "speech",
               "transcription": "transcription"}


class Subject(NamedTuple):
    """A resolved model: sizes with their range, and where they came from."""

    name: str
    registry_model: str | None
    provider: str | None
    modality: str
    architecture: str
    family: str | None
    total_b: float
    total_lo: float
    total_hi: float
    active_b: float
    active_lo: float
    active_hi: float
    precision: str | None
    disclosed: bool
    defaults: Mapping[str, float]
    warnings: tuple[str, ...]
    shape: Mapping[str, Any] = {}  # architecture facts from the registry (may be empty)


def num(field: str, value: Any, lo: float, hi: float, *, integer: bool = False,
         optional: bool = True) -> Any:
    if value is None and optional:
        return None
    bad = isinstance(value, bool) or not isinstance(value, (int, float))
    if not bad and integer and not float(value).is_integer():
        bad = True
    if bad or not (lo <= value <= hi):  # NaN fails the comparison too
        kind = "a whole number" if integer else "a number"
        raise ValueError(f"{field}: got {value!r}; expected {kind} from {lo:g} to {hi:g}")
    return int(value) if integer else float(value)


def check_deployment(dep: Any) -> Deployment:
    """Validate a `Deployment` (or a mapping of its fields) and return it."""
    if dep is None:
        return Deployment()
    if isinstance(dep, Mapping):
        unknown = set(dep) - set(Deployment._fields)
        if unknown:
            raise ValueError(f"deployment: unknown field(s) {sorted(unknown)}; expected "
                             f"{', '.join(Deployment._fields)}")
        dep = Deployment(**dep)
    if not isinstance(dep, Deployment):
        raise ValueError(f"deployment: got {dep!r}; expected wattmeter.Deployment(...)")
    gpu = dep.gpu
    if gpu is not None:
        from ._hardware import gpu as gpu_of

        gpu = gpu_of(gpu).key
    zone = dep.zone
    if zone is not None:
        from ._zones import zone_intensity

        zone = zone_intensity(zone).zone
    from ._regime import check_regime

    return Deployment(gpu, num("gpus", dep.gpus, 1, 4096, integer=True),
                      num("batch_size", dep.batch_size, 1, 1 << 20, integer=True),
                      num("pue", dep.pue, 1.0, 5.0), zone,
                      check_regime(dep.regime, "deployment.regime"))


def default_operation(model: Any, provider: str | None) -> str:
    """The operation of a call that names none: the registered model's (or the
    `ModelSpec`'s) modality, "chat" for text and for names the registry doesn't know."""
    modality: Any = None
    if isinstance(model, ModelSpec):
        modality = model.modality
    elif isinstance(model, str) and (provider is None or isinstance(provider, str)):
        from ._registry import lookup

        info = lookup(model, provider)
        modality = info.modality if info is not None else None
    return modality if modality in OPERATIONS and modality != "text" else "chat"


def check_operation(operation: Any) -> str:
    """The operation, or a ValueError listing the valid ones."""
    if operation not in MODALITY_OF:
        raise ValueError(f"operation: got {operation!r}; expected one of "
                         f"{', '.join(OPERATIONS)}")
    return str(operation)


def _from_spec(spec: ModelSpec, operation: str) -> Subject:
    total = num("total_params_b", spec.total_params_b, 1e-4, 100_000.0, optional=False)
    active = num("active_params_b", spec.active_params_b, 1e-4, total)
    if active is None:
        active = total
    from ._hardware import precision

    prec = precision(spec.precision).key
    modality = spec.modality or MODALITY_OF[operation]
    arch = spec.architecture or ("moe" if active < total else "dense")
    name = f"spec:{total:g}b" + (f"-a{active:g}b" if active < total else "")
    return Subject(name, None, None, modality, arch, spec.family, total, total, total, active,
                   active, active, prec, True, {}, ())


# Size classes guessed from a name when the registry does not know it (billions).
_SIZE = re.compile(r"(?:(\d+)x)?(\d+(?:\.\d+)?)\s*([bm])(?![a-z])", re.I)
_ACTIVE = re.compile(r"a(\d+(?:\.\d+)?)b(?![a-z])", re.I)
_CLASSES = (("nano", 3.0), ("tiny", 1.0), ("micro", 3.0), ("mini", 8.0), ("lite", 8.0),
            ("flash", 30.0), ("haiku", 20.0), ("small", 20.0), ("medium", 70.0),
            ("sonnet", 150.0), ("large", 200.0), ("pro", 300.0), ("opus", 500.0),
            ("ultra", 500.0))
#: Names of hybrid Mamba/attention text models (no KV cache in most layers, a recurrent
#: state per sequence instead).
_HYBRID = ("nemotron-h", "nemotron-nano", "mamba", "jamba", "zamba", "falcon-h1", "granite-4",
           "hymba")


def _hybrid_shape(size_b: float) -> dict[str, Any]:
    """Class-default architecture of a hybrid of `size_b` billions, after Nemotron-H
    (NVIDIA 2025, arXiv 2504.03624): ~8% attention layers (GQA, 8 KV heads of 128), half
    Mamba-2 layers with expansion 2 and state size 128; depth and width from the size."""
    layers = round(52 * (size_b / 8.0) ** 0.25)
    width = 4096 * (size_b / 8.0) ** 0.4
    return {"layers": layers, "attention_layers": max(1, round(0.08 * layers)),
            "heads": max(1, round(width / 128)), "kv_heads": 8, "head_dim": 128,
            "mamba_layers": round(layers / 2), "mamba_state": 2.0 * width * 128,
            "source": "class default for hybrid Mamba/attention models (Nemotron-H, 2025)"}


_DEFAULT_SIZE = {"text": 70.0, "embeddings": 0.5, "image": 12.0, "video": 14.0,
                 "speech": 1.0, "transcription": 1.5}


def _guess(name: str, operation: str) -> Subject:
    modality = MODALITY_OF[operation]
    low = name.lower()
    total = active = None
    m = _SIZE.search(low)
    if m:
        size = float(m.group(2)) / (1000.0 if m.group(3).lower() == "m" else 1.0)
        experts = int(m.group(1)) if m.group(1) else 1
        total = size * experts * (0.85 if experts > 1 else 1.0)
        active = size * 2 * 0.85 if experts > 2 else total
        a = _ACTIVE.search(low)
        if a:
            active = min(total, float(a.group(1)))
    if total is None or total <= 0:
        total = next((s for word, s in _CLASSES if word in low), _DEFAULT_SIZE[modality])
        active = total
    assert active is not None
    ku = constants("uncertainty")
    lo, hi = ku["unknown_model_low"], ku["unknown_model_high"]
    warning = (f"unknown model {name!r}: estimated as a ~{total:g}B-parameter {modality} "
               f"model from its name, with a range of {lo:g}-{hi:g}x its size; register it "
               "with wattmeter.register_model() for a better estimate")
    arch, shape = "moe" if active < total else "dense", {}
    if modality == "text" and any(word in low for word in _HYBRID):
        arch, shape = "hybrid", _hybrid_shape(total)
    return Subject(name, None, None, modality, arch, None, total, total * lo, total * hi,
                   active, active * lo, active * hi, None, False, {}, (warning,), shape)


#: A quantisation named in a model id ("...-FP8", "...-AWQ"): the weights are that precision
#: even when the name resolves to the registry entry of the unquantised model.
_QUANT = re.compile(r"(?:^|[-_./])(fp8|fp4|nvfp4|mxfp4|int8|w8a8|int4|w4a16|awq|gptq)"
                    r"(?:$|[-_./])", re.I)


def _named_precision(name: str, registered_id: str) -> str | None:
    m = _QUANT.search(name)
    if m is None or _QUANT.search(registered_id):
        return None
    from ._model_entries import PRECISIONS

    return PRECISIONS.get(m.group(1).lower())


def resolve(model: Any, provider: str | None, operation: str) -> Subject:
    """Resolve `model` (name or `ModelSpec`) for `operation`; unknown names are guessed."""
    if isinstance(model, ModelSpec):
        return _from_spec(model, operation)
    if isinstance(model, str) and len(model) > MAX_NAME_CHARS:
        model = shorten(model)  # no real name is this long; the regexes need not read 10 MB
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model: got {model!r}; expected a model name such as 'gpt-4o' or "
                         "wattmeter.ModelSpec(total_params_b=...)")
    from ._registry import lookup

    info = lookup(model, provider)
    if info is None:
        return _guess(model, operation)
    warnings: tuple[str, ...] = ()
    modality = MODALITY_OF[operation]
    if info.modality != modality:
        warnings = (f"model {info.id!r} is registered for {info.modality}; estimated as "
                    f"{modality} with its size",)
    prec = _named_precision(model, info.id) or info.precision
    return Subject(model, info.id, info.provider, modality, info.architecture, info.family,
                   info.total_params_b, info.total_params_b_low, info.total_params_b_high,
                   info.active_params_b, info.active_params_b_low, info.active_params_b_high,
                   prec, info.disclosed, info.defaults, warnings, info.shape)
