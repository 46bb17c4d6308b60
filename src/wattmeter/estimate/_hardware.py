"""Accelerator specifications (power, memory, bandwidth, peak FLOP/s) read from hardware.json.

Names are matched case-insensitively with common spellings ("h100", "H100-80GB",
"tpu v5e"); an unknown name is a `ValueError` listing the valid choices.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["GPU", "Precision", "gpu", "gpu_names", "precision"]

_DATA = Path(__file__).with_name("data") / "hardware.json"


class GPU(NamedTuple):
    """One accelerator: power (W), memory (GB), bandwidth (GB/s), dense TFLOP/s per precision."""

    key: str
    name: str
    tdp_w: float
    idle_w: float
    memory_gb: float
    bandwidth_gbs: float
    tflops: dict[str, float]
    source: str
    year: int
    compute_eff: float = 1.0
    #: decode time per byte of dense weights, expert weights and KV cache relative to an
    #: H100 running the same kernels (fitted for B200; 1 where unmeasured)
    decode: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def flops(self, compute: str) -> float:
        """Dense FLOP/s at `compute` precision, scaled by what current software reaches."""
        return self.tflops.get(compute, self.tflops["bf16"]) * 1e12 * self.compute_eff


class Precision(NamedTuple):
    """A weight precision: bytes per parameter and the precision its matmuls run at."""

    key: str
    bytes: float
    compute: str


_tables: dict[str, Any] = {}


def _norm(name: str) -> str:
    return " ".join(name.strip().lower().replace("_", " ").replace("-", " ").split())


def _load() -> dict[str, Any]:
    if not _tables:
        raw = json.loads(_DATA.read_text(encoding="utf-8"))
        gpus: dict[str, GPU] = {}
        gpu_alias: dict[str, str] = {}
        for key, g in raw["gpus"].items():
            gpus[key] = GPU(key, g["name"], float(g["tdp_w"]), float(g["idle_w"]),
                            float(g["memory_gb"]), float(g["bandwidth_gbs"]),
                            {k: float(v) for k, v in g["tflops"].items()}, g["source"],
                            int(g["year"]), float(g.get("compute_eff", 1.0)),
                            tuple(float(g.get("decode_factors", {}).get(part, 1.0))
                                  for part in ("dense", "expert", "kv")))  # type: ignore[arg-type]
            for alias in (key, *g.get("aliases", ())):
                gpu_alias[_norm(alias)] = key
                gpu_alias[_norm(alias).replace(" ", "")] = key
        precs: dict[str, Precision] = {}
        prec_alias: dict[str, str] = {}
        for key, p in raw["precisions"].items():
            if key.startswith("_"):
                continue
            precs[key] = Precision(key, float(p["bytes"]), p["compute"])
            for alias in (key, *p.get("aliases", ())):
                prec_alias[_norm(alias)] = key
        _tables.update(gpus=gpus, gpu_alias=gpu_alias, precs=precs, prec_alias=prec_alias)
    return _tables


def gpu_names() -> tuple[str, ...]:
    """Canonical accelerator names, e.g. ("H100", "H200", ...)."""
    return tuple(_load()["gpus"])


def gpu(name: str) -> GPU:
    """The accelerator called `name` (case-insensitive, common spellings accepted)."""
    t = _load()
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"gpu: got {name!r}; expected one of {', '.join(t['gpus'])}")
    n = _norm(name)
    key = t["gpu_alias"].get(n) or t["gpu_alias"].get(n.replace(" ", ""))
    if key is None:
        for prefix in ("nvidia ", "amd ", "google ", "cloud "):
            if n.startswith(prefix):
                key = t["gpu_alias"].get(n[len(prefix):].replace(" ", ""))
                break
    if key is None:
        raise ValueError(f"gpu: unknown accelerator {name!r}; expected one of "
                         f"{', '.join(t['gpus'])}")
    gpus: dict[str, GPU] = t["gpus"]
    return gpus[key]


def precision(name: str | None) -> Precision:
    """The weight precision called `name` ("bf16", "bfloat16", "fp8", "int4", ...); None is bf16."""
    t = _load()
    if name is None:
        return t["precs"]["bf16"]
    key = t["prec_alias"].get(_norm(name)) if isinstance(name, str) else None
    if key is None:
        raise ValueError(f"precision: unknown precision {name!r}; expected one of "
                         f"{', '.join(t['precs'])}")
    return t["precs"][key]
