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
    """Where a model runs; unset fields come from configuration or provider defaults.

    ``regime`` is how it is served: "provider" (the provider's fleet; the default for
    provider-served calls), "tuned" (one tuned replica; the default for self-hosted calls
    and a deployment that names its hardware) or "naive" (library defaults at batch 1 on
    a node whose other accelerators idle); docs/regimes.md. ``kv_cache`` is the KV cache's
    precision: "bf16" (the default: vLLM's and SGLang's ``auto`` keeps it at the
    activations' 16 bits, FP8 checkpoints included) or "fp8" (``--kv-cache-dtype fp8``),
    which halves the cache's bytes (docs/methodology.md, "FP8 and FP4").
    """

    gpu: str | None = None
    gpus: int | None = None
    batch_size: int | None = None
    pue: float | None = None
    zone: str | None = None
    regime: str | None = None
    kv_cache: str | None = None
