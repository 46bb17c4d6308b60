"""PLACEHOLDER until the estimation core lands: zero estimates with the final signatures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._footprint import Footprint
from .._usage import Usage

__all__ = ["Deployment", "ModelSpec", "estimate", "footprint_for", "register_model"]


@dataclass(frozen=True)
class ModelSpec:
    total_params_b: float
    active_params_b: float | None = None
    precision: str = "bf16"


@dataclass(frozen=True)
class Deployment:
    gpu: str | None = None
    gpus: int | None = None
    batch_size: int | None = None
    pue: float | None = None
    zone: str | None = None


def register_model(name: str, **fields: Any) -> None:
    pass


def footprint_for(usage: Usage, *, team: str, labels: Mapping[str, str],
                  timestamp: float = 0.0) -> Footprint:
    e = 0.001 * (usage.input_tokens + usage.output_tokens) + 0.01
    return Footprint(usage.provider, usage.model, usage.operation, team, labels,
                     usage.input_tokens, usage.output_tokens, usage.cached_input_tokens,
                     usage.reasoning_tokens, e, e / 2, e * 2, e / 1.5, e / 3, e, e / 1.2,
                     e / 2.4, e * 1.6, e * 0.4, e * 0.2, e * 0.8, "WORLD", 473.0, 1.2,
                     warnings=tuple(usage.warnings or ()), outcome=usage.outcome,
                     response_model=usage.response_model, timestamp=timestamp)


def estimate(model: Any, provider: str | None = None, operation: str = "chat",
             **kwargs: Any) -> Footprint:
    u = Usage(provider or "unknown", str(model), operation,
              input_tokens=kwargs.get("input_tokens", 0),
              output_tokens=kwargs.get("output_tokens", 0))
    return footprint_for(u, team="default", labels={})
