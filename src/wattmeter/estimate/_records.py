"""The public `ModelSpec` and `Deployment` records (cheap to import: plain NamedTuples)."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Deployment", "ModelSpec"]


class ModelSpec(NamedTuple):
    """A model described by its size instead of its name (billions of parameters).

    ``active_params_b`` is the per-token active size of a mixture-of-experts model
    (default: the total). ``family`` names a diffusion geometry (families.json).
    """

    total_params_b: float
    active_params_b: float | None = None
    precision: str = "bf16"
    modality: str | None = None
    architecture: str | None = None
    family: str | None = None


class Deployment(NamedTuple):
    """Where a model runs; unset fields come from configuration or provider defaults."""

    gpu: str | None = None
    gpus: int | None = None
    batch_size: int | None = None
    pue: float | None = None
    zone: str | None = None
