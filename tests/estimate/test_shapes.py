"""Issue 18: registered open models carry every geometry fact the physics reads.

The fields are not listed by hand: the physics runs on a recording shape and reports every key
it asks for; only the keys its module declares as "absence states a fact" (`ABSENT_MEANS`:
no sliding window, every layer attends, the family's published VAE) may be missing, and an
architecture's own (an MoE model's experts) may not.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from wattmeter.estimate import _coefficients, _diffusion, _kinds, _text
from wattmeter.estimate._hardware import gpu, precision
from wattmeter.estimate._registry import all_models
from wattmeter.estimate._resolve import MODALITY_OF, resolve


class Recording(Mapping[str, Any]):
    """A shape that remembers every key the physics asked for."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = dict(data)
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.asked.add(key)
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return self.data.get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.asked.add(key)
        return key in self.data

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        return True  # a recorded shape is always read through


_OPERATION = {"text": "chat", "image": "image", "video": "video"}


def _asked(model_id: str, shape: Mapping[str, Any]) -> set[str]:
    """The shape keys the physics reads for this model given `shape`, over 1 and 4 GPUs. A key
    read only when another is present (the KV heads once the layers are known) shows once
    that other key is there, so a shape is complete when this run asks for nothing it lacks."""
    info = next(m for m in all_models() if m.id == model_id)
    s = resolve(model_id, None, _OPERATION[info.modality])
    kind = _kinds.kind_of(s)
    asked: set[str] = set()
    for gpus in (1, 4):
        rec = Recording(shape)
        _coefficients._phys(kind, s._replace(shape=rec), s.total_b, s.active_b,
                            precision(s.precision), gpu("H100"), gpus, 8)
        asked |= rec.asked
    return asked


def _open(modality: str) -> list[str]:
    """Registered open-weight models of a modality: their precision is published."""
    return [m.id for m in all_models() if m.modality == modality and m.precision is not None
            and not (m.family or "").startswith("closed-")]


def _missing(model_id: str, absent_means: Mapping[str, str]) -> list[str]:
    info = next(m for m in all_models() if m.id == model_id)
    reads = _asked(model_id, info.shape)
    required = (reads - set(absent_means)) | set(
        _text.REQUIRED_BY_ARCHITECTURE.get(info.architecture, ()))
    return sorted(required - set(info.shape))


def test_the_physics_reads_the_geometry_we_audit() -> None:
    """The recording sees the keys (a physics that stopped reading shapes would pass the
    audit vacuously)."""
    assert {"layers", "width", "token_params_b"} <= _asked("black-forest-labs/FLUX.1-dev", {})
    qwen = next(m for m in all_models() if m.id == "Qwen/Qwen3-8B").shape
    assert {"layers", "kv_heads", "head_dim", "heads"} <= _asked("Qwen/Qwen3-8B", qwen)


@pytest.mark.parametrize("model_id", _open("image") + _open("video"))
def test_open_diffusion_models_carry_every_field(model_id: str) -> None:
    missing = _missing(model_id, _diffusion.ABSENT_MEANS)
    assert not missing, f"{model_id}: shape lacks {missing}; add them from its published " \
                        "config with the source"


def _unshaped_text() -> list[str]:
    return [m for m in _open("text") if not next(i for i in all_models() if i.id == m).shape]


#: Open text models without a shape, each with why: the family size laws stand in for them
#: (docs/methodology.md, "Shapes"). Every other open text model carries its published shape.
UNSHAPED_TEXT: dict[str, str] = {
    "mistral/ministral-3b": "size published, weights (and so config.json) not",
    "zai-org/GLM-5.3-Flash": "hybrid sparse/linear-attention layout not yet transcribed and "
                             "checked against its config.json",
}


def test_text_models_with_a_shape_carry_every_field() -> None:
    bad = {}
    for model_id in _open("text"):
        info = next(m for m in all_models() if m.id == model_id)
        if info.shape:
            missing = _missing(model_id, _text.ABSENT_MEANS)
            if missing:
                bad[model_id] = missing
    assert not bad, f"shapes lacking fields the physics reads: {bad}"


def test_open_text_models_are_all_shaped() -> None:
    """Issue 18: a registered open text model carries its published shape; the few named
    above say why not, and leave the list when their config is transcribed."""
    unshaped = set(_unshaped_text())
    new = sorted(unshaped - set(UNSHAPED_TEXT))
    assert not new, f"open text models without a shape: {new}; a registration needs its " \
                    "published shape (layers, heads, kv_heads, head_dim, ...) with the source"
    stale = sorted(set(UNSHAPED_TEXT) - unshaped)
    assert not stale, f"{stale} now shaped or gone: remove them from UNSHAPED_TEXT"


def test_calibrated_models_are_all_shaped() -> None:
    """Every model of the shared calibration rows has its shape (FP8 checkpoints included)."""
    import csv
    from pathlib import Path

    ref = Path(__file__).resolve().parents[2] / "benchmarks" / "reference"
    with (ref / "mlenergy-calibration.csv").open(newline="") as fh:
        ids = {r["model_id"] for r in csv.DictReader(fh)}
    for model_id in ids:
        s = resolve(model_id, None, "chat" if "Diffusers" not in model_id else "video")
        assert s.shape, model_id


def test_modality_table_covers_the_audit() -> None:
    assert set(_OPERATION) <= set(MODALITY_OF.values())


def test_register_model_takes_a_shape() -> None:
    """docs/models.md: a user registers a model with its published shape; the physics reads
    it (a shape without a source is refused)."""
    import wattmeter
    from wattmeter.estimate import _registry

    try:
        wattmeter.register_model(
            "acme/Acme-Video-6B", total_params_b=6.0, modality="video", family="wan",
            shape={"layers": 32, "width": 3072, "token_params_b": 5.1,
                   "source": "config.json of acme/Acme-Video-6B (2026)"})
        s = resolve("acme/Acme-Video-6B", None, "video")
        assert s.shape["width"] == 3072 and s.family == "wan"
        assert {"layers", "width", "token_params_b"} <= _asked("acme/Acme-Video-6B", s.shape)
        with pytest.raises(ValueError, match="source"):
            wattmeter.register_model("acme/No-Source", total_params_b=1.0,
                                     shape={"layers": 4})
    finally:
        _registry._reset_for_tests()
