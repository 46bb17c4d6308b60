"""Life-cycle factors: embodied CO2e and abiotic depletion, and water, per accelerator joule.

Built once per coefficient key from lifecycle.json so a call adds a few multiplications: the
call's accelerator joules become accelerator-seconds (joules / busy power), which carry
their share of the server's cradle-to-gate impacts amortised over its life; water is the
data centre's on-site WUE on IT energy plus the grid's water on facility energy plus the
manufacturing water of those accelerator-seconds; ADPe adds
the grid's ADPe per kWh (docs/methodology.md, "Life-cycle impacts").
"""

from __future__ import annotations

import json
import math
import random
from functools import lru_cache
from pathlib import Path
from typing import Any

from ._hardware import gpu
from ._physics import percentile

__all__ = ["LIFE_SIZE", "electricity", "factors", "onsite_wue"]

_DATA = Path(__file__).with_name("data") / "lifecycle.json"
_SECONDS_PER_YEAR = 365.25 * 86400.0
_SAMPLES = 500
#: Per block: central embodied g, water mL, ADPe kg Sb eq per accelerator J, then for each
#: of the three the multipliers of the low and the high energy bound (see `factors`).
LIFE_SIZE = 9
_raw: dict[str, Any] = {}


def _data() -> dict[str, Any]:
    if not _raw:
        _raw.update(json.loads(_DATA.read_text(encoding="utf-8")))
    return _raw


def _draw(rng: random.Random, lo: float, hi: float) -> float:
    """Log-uniform in [lo, hi] (lo when the range is empty)."""
    return lo * (hi / lo) ** rng.random() if 0 < lo < hi else lo


def _zone_key(zone: str) -> str:
    e = _data()["electricity"]
    z = zone.strip()
    if z.upper() in e["zones"]:
        return z.upper()
    low = z.lower()
    for prefix, key in sorted(e["region_prefixes"].items(), key=lambda kv: -len(kv[0])):
        if low.startswith(prefix):
            return str(key)
    if z.upper() in e["countries_in_eu"]:
        return "EU"
    return "WORLD"


def electricity(zone: str) -> dict[str, Any]:
    """Water (L/kWh, with low/high) and ADPe (kg Sb eq/kWh) of the grid of `zone`."""
    return dict(_data()["electricity"]["zones"][_zone_key(zone)])


def onsite_wue(provider: str) -> dict[str, Any]:
    """On-site water (L per IT kWh) of `provider`'s data centres, with low/high and source."""
    w = _data()["onsite_wue"]
    return dict(w.get(provider) or w["default"])


@lru_cache(maxsize=256)
def _per_joule(mix: tuple[tuple[str, float], ...], provider: str, zone: str, ks: float,
               pue: float) -> tuple[tuple[float, float, float], tuple[float, ...]]:
    """Central (embodied g, water mL, ADPe kg Sb eq) per accelerator J, and each one's
    5th/95th-percentile ratio to it over the constants' ranges (lo_e, hi_e, lo_w, ...)."""
    d = _data()
    sv = d["server"]
    accs = d["accelerators"]
    ar = d["accelerator_range"]
    el = electricity(zone)
    wue = onsite_wue(provider)
    adr = d["electricity"]["adpe_range"]
    mw = d["manufacturing_water"]
    a100_kg = accs["A100"]["kgco2e"]
    gpus = [(gpu(name), w) for name, w in mix]

    def one(life: float, active: float, busy: float, host_c: float, host_a: float,
            acc_k: float, w_on: float, w_el: float, a_el: float, mw_acc: float,
            mw_host: float, pick: Any = None) -> tuple[float, float, float]:
        emb = adp = mfg = 0.0
        for g, w in ([(pick, 1.0)] if pick is not None else gpus):
            a = accs.get(g.key) or accs["default"]
            watts = g.idle_w + busy * (g.tdp_w - g.idle_w)
            seconds = life * _SECONDS_PER_YEAR * active * watts  # accelerator J of a life
            n = sv["gpus_per_server"]["value"]
            emb += w * (host_c / n + acc_k * a["kgco2e"]) * 1000.0 / seconds
            adp += w * (host_a / n + acc_k * a["kgsbeq"]) / seconds
            card_l = mw_acc * a["kgco2e"] / a100_kg  # scaled like the card's embodied carbon
            mfg += w * (mw_host / n + card_l) * 1000.0 / seconds  # mL per accelerator J
        kwh = ks / 3.6e6  # server kWh per accelerator J
        return emb, kwh * (w_on + pue * w_el) * 1000.0 + mfg, adp + kwh * pue * a_el

    central = one(sv["lifetime_years"]["value"], sv["active_fraction"]["value"],
                  sv["busy_power_fraction"]["value"], sv["host_embodied_kgco2e"]["value"],
                  sv["host_embodied_kgsbeq"]["value"], 1.0, wue["value"],
                  el["water_l_per_kwh"], el["adpe_kgsbeq_per_kwh"],
                  mw["accelerator_l"]["value"], mw["host_l"]["value"])
    rng = random.Random(20261130)
    names = [g for g, _ in gpus]
    weights = [w for _, w in gpus]
    samples: list[list[float]] = [[], [], []]
    for _ in range(_SAMPLES):
        hc = _draw(rng, sv["host_embodied_kgco2e"]["low"], sv["host_embodied_kgco2e"]["high"])
        s = one(rng.uniform(sv["lifetime_years"]["low"], sv["lifetime_years"]["high"]),
                rng.uniform(sv["active_fraction"]["low"], sv["active_fraction"]["high"]),
                rng.uniform(sv["busy_power_fraction"]["low"],
                            sv["busy_power_fraction"]["high"]),
                hc, hc * sv["host_embodied_kgsbeq"]["value"]
                / sv["host_embodied_kgco2e"]["value"],
                _draw(rng, ar["low"], ar["high"]), _draw(rng, wue["low"], wue["high"]),
                _draw(rng, el["water_low"], el["water_high"]),
                el["adpe_kgsbeq_per_kwh"] * _draw(rng, adr["low"], adr["high"]),
                _draw(rng, mw["accelerator_l"]["low"], mw["accelerator_l"]["high"]),
                _draw(rng, mw["host_l"]["low"], mw["host_l"]["high"]),
                rng.choices(names, weights)[0])
        for k in range(3):
            samples[k].append(s[k])
    spread: list[float] = []
    for k in range(3):
        c = central[k]
        spread += [min(percentile(samples[k], 0.05) / c, 1.0),
                   max(percentile(samples[k], 0.95) / c, 1.0)]
    return central, tuple(spread)


def _combine(r: float, f: float, lower: bool) -> float:
    """5th (or 95th) percentile ratio of a product of two independent log-normal factors
    whose own ratios are `r` (energy) and `f` (life-cycle constants)."""
    if r <= 0.0:
        return 0.0
    a, b = math.log(r), math.log(f)
    s = math.sqrt(a * a + b * b)
    return math.exp(-s if lower else s)


def factors(mix: tuple[tuple[str, float], ...], provider: str, zone: str, ks: float,
            pue: float, ratios: tuple[float, ...],
            nominal: tuple[float, float]) -> tuple[float, ...]:
    """The `Coef.life` tuple: `LIFE_SIZE` numbers per block of `ratios` (one block, or two
    when `ratios` has the assumed-quantity block first; see `Coef.ratios`).

    Per block: embodied g, water mL and ADPe kg Sb eq per accelerator J (central), then the
    multipliers that turn a call's energy bounds into each impact's bounds: embodied on the
    accelerator Wh bounds, water and ADPe on the facility Wh bounds. Each multiplier is the
    impact per Wh times (combined ratio / energy ratio) at the reference request, whose
    prefill/decode split is `nominal`, so a call's bound costs one multiplication.
    """
    (ke, kw, ka), (le, he, lw, hw, la, ha) = _per_joule(mix, provider, zone, ks, pue)
    fac = ks * pue
    n0, n1 = nominal
    tot = n0 + n1

    def ref(a: float, b: float) -> float:  # the reference request's ratio of its two parts
        return (n0 * a + n1 * b) / tot if tot > 0 else 1.0

    out: list[float] = []
    for off in range(0, len(ratios), 16):
        r = ratios[off:off + 16]
        acc_lo, acc_hi = ref(r[0], r[1]), ref(r[2], r[3])
        fac_lo, fac_hi = ref(r[8], r[9]) / fac, ref(r[10], r[11]) / fac
        out += [ke, kw, ka]
        for k, per_wh, (lo, hi), (rlo, rhi) in (
                (ke, 3600.0, (le, he), (acc_lo, acc_hi)),
                (kw, 3600.0 / fac, (lw, hw), (fac_lo, fac_hi)),
                (ka, 3600.0 / fac, (la, ha), (fac_lo, fac_hi))):
            m = k * per_wh
            out += [m * _combine(rlo, lo, True) / rlo if rlo > 0 else m * lo,
                    m * _combine(rhi, hi, False) / rhi]
    return tuple(out)
