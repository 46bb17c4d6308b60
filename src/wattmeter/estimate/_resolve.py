"""What is being estimated: a registered model, a `ModelSpec`, or a size class guessed from a name.

Also holds the input checks, so bad input fails with a `ValueError` naming the field, the
value and the valid form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from .._text import MAX_NAME_CHARS, shorten
from .._usage import OPERATIONS
from ._name_facts import NameFacts, read
from ._physics import constants
from ._records import Deployment, ModelSpec

__all__ = [
    "KV_CACHE_BYTES",
    "MODALITY_OF",
    "Subject",
    "check_deployment",
    "check_kv_cache",
    "check_operation",
    "default_operation",
    "determinants",
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


def determinants(s: Subject) -> tuple[Any, ...]:
    """What a subject's coefficients depend on: everything but its name and warnings
    (whether it is a `ModelSpec` counts: its spread differs). Names that resolve to the same
    facts share one set of coefficients (issue 23)."""
    return (s.registry_model, s.provider, s.modality, s.architecture, s.family, s.total_b,
            s.total_lo, s.total_hi, s.active_b, s.active_lo, s.active_hi, s.precision,
            s.disclosed, s.registry_model is None and s.name.startswith("spec:"),
            tuple(s.defaults.items()), tuple(s.shape.items()))


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
                      check_regime(dep.regime, "deployment.regime"),
                      check_kv_cache(dep.kv_cache))


#: KV-cache precisions a deployment may name -> bytes per element.
KV_CACHE_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0}


def check_kv_cache(value: Any) -> str | None:
    """A `Deployment.kv_cache` value, normalised ("FP8" -> "fp8"), or a clear error."""
    if value is None:
        return None
    key = value.strip().lower().replace("_", "").replace("-", "") if isinstance(
        value, str) else None
    key = {"fp8e4m3": "fp8", "fp8e5m2": "fp8", "auto": "bf16"}.get(key or "", key)
    if key not in KV_CACHE_BYTES:
        raise ValueError(f"deployment.kv_cache: got {value!r}; expected one of "
                         f"{', '.join(KV_CACHE_BYTES)} (the KV cache's precision, e.g. 'fp8' "
                         "for vLLM's --kv-cache-dtype fp8)")
    return key


def default_operation(model: Any, provider: str | None) -> str:
    """The operation of a call that names none: the registered model's (or the
    `ModelSpec`'s) modality, "chat" for text and for names the registry doesn't know."""
    modality: Any = None
    if isinstance(model, ModelSpec):
        modality = model.modality
    elif isinstance(model, str) and (provider is None or isinstance(provider, str)):
        from ._registry import lookup

        info = lookup(model, provider)
        if info is not None:
            modality = info.modality
        elif len(model) <= MAX_NAME_CHARS:  # unregistered: the modality its name states
            modality = read(model).modality
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


def _total_of_active(facts: NameFacts) -> float:
    """A mixture-of-experts total when a name gives only the active size (``17B-16E``,
    ``A14B``): a rough class guess, inside the unknown-model range. Llama 4 Scout 17B-16E is
    109B, Maverick 17B-128E 400B (Meta 2025): ~1.5 x active x sqrt(experts); two experts
    (Wan2.2 A14B, 27B) when the count is not given."""
    assert facts.active_b is not None
    if facts.experts:
        return facts.active_b * 1.5 * max(2.0, facts.experts ** 0.5)
    return facts.active_b * 2.0


def _diffusion_family(facts: NameFacts, modality: str) -> str | None:
    """The diffusion family the name states for this modality: None for a text family word
    (``minimax`` in ``minimax/hailuo-02``) or an image family asked for video."""
    if facts.family is None or modality not in ("image", "video"):
        return None
    from ._diffusion import family as family_of

    fam = family_of(facts.family, modality)
    return facts.family if fam.key == facts.family and fam.kind == modality else None


def _guess(name: str, operation: str, facts: NameFacts) -> Subject:
    modality = MODALITY_OF[operation]
    low = name.lower()
    total, active = facts.total_b, facts.active_b
    if total is None and active is not None:
        total = _total_of_active(facts)
    family = _diffusion_family(facts, modality)
    if total is None or total <= 0:
        if family is not None:
            from ._diffusion import family as family_of

            total = family_of(family, modality).ref_params_b
        else:
            total = next((s for word, s in _CLASSES if word in low), _DEFAULT_SIZE[modality])
        active = total
    if active is None:
        active = total
    active = min(active, total)
    ku = constants("uncertainty")
    lo, hi = ku["unknown_model_low"], ku["unknown_model_high"]
    kind = f"{family} {modality}" if family else modality
    warnings = [f"unknown model {name!r}: estimated as a ~{total:g}B-parameter {kind} "
                f"model from its name, with a range of {lo:g}-{hi:g}x its size; register it "
                "with wattmeter.register_model() for a better estimate"]
    if family is not None:
        warnings.append(f"model {name!r}: the {family} family's geometry stands in for its "
                        "own (layers, width, per-token weights assumed from the family's "
                        "reference model); register its shape to replace them")
    arch, shape = "moe" if active < total else "dense", {}
    if modality == "text" and any(word in low for word in _HYBRID):
        arch, shape = "hybrid", _hybrid_shape(total)
    return Subject(name, None, None, modality, arch, family, total, total * lo, total * hi,
                   active, active * lo, active * hi, facts.precision, False, {},
                   tuple(warnings), shape)


#: How far a size read from a name may differ before it names another model: from the size
#: the entry's own id states (names round alike: gemma-7b and gemma-1.1-7b-it), else from the
#: entry's size (names round: "7B" is 6.7-8.5B).
_SAME_STATED = 1.05
_SAME_SIZE = 1.5
_GENERIC_FAMILIES = ("dit-", "closed-")
#: The facts each registered id states (ids are fixed; the registry has ~500).
_id_facts: dict[str, NameFacts] = {}


def _differs(named: float | None, own: NameFacts, entry: float) -> bool:
    """Whether a size read from a name names another model than the entry: it matches no
    size the entry's id states (``llama4-scout-17b`` is Scout's 17B active), or, when the id
    states none, it is far from the entry's size."""
    if named is None:
        return False
    stated = [x for x in (own.total_b, own.active_b) if x is not None]
    if stated:
        return not any(1 / _SAME_STATED <= named / x <= _SAME_STATED for x in stated)
    return not 1 / _SAME_SIZE <= named / entry <= _SAME_SIZE


def _with_facts(name: str, info: Any, facts: NameFacts, modality: str) -> Subject:
    """The registry entry `info` with the facts its name states on top: the name's precision,
    sizes that differ from the entry's (its published shape then belongs to another size and
    is dropped), a family where the entry has none."""
    warnings: list[str] = []
    if info.modality != modality:
        warnings.append(f"model {info.id!r} is registered for {info.modality}; estimated as "
                        f"{modality} with its size")
    total, t_lo, t_hi = info.total_params_b, info.total_params_b_low, info.total_params_b_high
    active, a_lo, a_hi = (info.active_params_b, info.active_params_b_low,
                          info.active_params_b_high)
    shape, arch, disclosed = info.shape, info.architecture, info.disclosed
    ft, fa = facts.total_b, facts.active_b
    if ft is not None or fa is not None:
        own = _id_facts.get(info.id)
        if own is None:
            own = _id_facts[info.id] = read(info.id)
        if _differs(ft, own, total) and ft is not None:
            fa = fa if fa is not None else ft  # a size alone: a dense sibling
            total = t_lo = t_hi = ft
            active = a_lo = a_hi = min(fa, ft)
        elif _differs(fa, own, active) and fa is not None:
            active = a_lo = a_hi = min(fa, total)
    if total != info.total_params_b or active != info.active_params_b:
        shape, disclosed = {}, False
        arch = ("moe" if active < total else "dense") if arch in ("dense", "moe") else arch
        warnings.append(f"model {name!r}: the size in its name ({total:g}B"
                        + (f", {active:g}B active" if active < total else "")
                        + f") differs from the registry entry {info.id!r} "
                        f"({info.total_params_b:g}B); estimated at the name's size without "
                        "the entry's published shape")
    family = info.family
    named = _diffusion_family(facts, modality)
    if named and (family is None or family.startswith(_GENERIC_FAMILIES)):
        family = named
    return Subject(name, info.id, info.provider, modality, arch, family, total, t_lo, t_hi,
                   active, a_lo, a_hi, facts.precision or info.precision, disclosed,
                   info.defaults, tuple(warnings), shape)


def resolve(model: Any, provider: str | None, operation: str) -> Subject:
    """Resolve `model` (name or `ModelSpec`) for `operation`; unknown names are guessed.

    Facts the name states (precision, sizes, family: `_name_facts`) override the registry
    entry's own."""
    if isinstance(model, ModelSpec):
        return _from_spec(model, operation)
    if isinstance(model, str) and len(model) > MAX_NAME_CHARS:
        model = shorten(model)  # no real name is this long; the regexes need not read 10 MB
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model: got {model!r}; expected a model name such as 'gpt-4o' or "
                         "wattmeter.ModelSpec(total_params_b=...)")
    from ._registry import lookup

    info = lookup(model, provider)
    facts = read(model)
    if info is None:
        return _guess(model, operation, facts)
    return _with_facts(model, info, facts, MODALITY_OF[operation])
