"""Disclosure anchors: a provider's published per-request figure constrains its fleet.

A provider regime may name one disclosure (regimes.json ``anchor``: Google's median
Gemini prompt, OpenAI's average ChatGPT query). Each Monte Carlo draw of that fleet (its
accelerator, precision, interactivity, cache hits, speculation, load, host and PUE) also
estimates the disclosed request with the disclosed model's size drawn from its own range,
and is weighted by how close that lands to the published figure (log-normal likelihood of
width ``sigma`` for the unknown request and model mix). Percentiles and the central are
then the weighted ones. A disclosure left out (`_regime.set_excluded`) anchors nothing, so
benchmarks/disclosures.py predicts it without it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from . import _regime, _text
from ._hardware import GPU, Precision
from ._hold import hold

__all__ = ["Anchor", "anchor_for", "weighted_percentile"]


class Anchor(NamedTuple):
    """The disclosed request and the disclosed model's size range."""

    disclosure: str
    facility_wh: float
    sigma: float
    input_tokens: float
    output_tokens: float
    total: tuple[float, float, float]   # low, central, high (billions)
    active: tuple[float, float, float]
    precision: str | None
    shape: Mapping[str, Any]
    model: str                          # registry id: the estimated model is the anchor's
    model_sigma: float                  # the anchor model's own physics error (log sd)
    vendor: str | None = None           # the anchor model's own provider (its siblings')

    def sibling_draw(self, rng: random.Random, s: Any, total: float, active: float,
                     z: float, sigma: float) -> tuple[float, float, float] | None:
        """The anchor model's (total, active, physics error) given this draw of a sibling
        `s` (an undisclosed model of the same vendor, sized against the anchor in the
        registry by list price): its sizes the sibling's times the centrals' ratio (within
        the anchor's range), its error the sibling's (`z`: its standard normal, at the
        anchor model's own spread) times a log-normal of `sigma`. The price ratio tells the
        two models' serving-cost ratio, so that ratio strays by `sigma` as a whole; drawing
        each model's physics error apart on top would count the ratio's error twice. None
        when `s` is not a sibling (the anchor model's size and error are drawn apart)."""
        if (s.disclosed or s.registry_model is None or s.registry_model == self.model
                or s.provider != self.vendor or s.total_hi <= s.total_lo):
            return None
        off = hold("sibling_ratio", math.exp(rng.gauss(0.0, sigma)), 1.0)
        (t_lo, t_c, t_hi), (a_lo, a_c, a_hi) = self.total, self.active
        t = min(max(total * t_c / s.total_b, t_lo), t_hi)
        a = min(max(active * a_c / s.active_b, a_lo), a_hi)
        return t, min(a, t), math.exp(z * self.model_sigma) * off

    def weight(self, rng: random.Random, rp: _regime.ProviderRegime, g: GPU,
               prec: Precision, kt: Mapping[str, Any], draw: Sequence[float], load: float,
               ks: float, pue: float, err: float,
               sizes: tuple[float, float] | None) -> float:
        """Likelihood of the published figure given this draw of the fleet; `sizes`: the
        draw's (total, active) when the estimated model is the anchor's (its `err` too),
        else the anchor model's size and error are drawn here."""
        if sizes is not None:
            (total, active), e = sizes, err
        else:
            u = hold("anchor_size", rng.random(), 0.5)
            e = hold("anchor_error", math.exp(rng.gauss(0.0, self.model_sigma)), 1.0)
            t_lo, t_c, t_hi = self.total
            a_lo, a_c, a_hi = self.active
            total = t_c if t_hi <= t_lo else t_lo * (t_hi / t_lo) ** u
            active = a_c if a_hi <= a_lo else a_lo * (a_hi / a_lo) ** u
        c = _regime.provider_text(total, min(active, total), prec, g, kt, self.shape, rp,
                                  draw[0], draw[1], draw[2], load=load)
        j = (_text.prefill_j(c, self.input_tokens, 0.0)
             + _text.decode_j(c, self.input_tokens, self.output_tokens))
        wh = j * e * ks * pue / 3600.0
        z = math.log(wh / self.facility_wh) / self.sigma
        return math.exp(-0.5 * z * z)


def anchor_for(rp: _regime.ProviderRegime, resolve: Any, model_sigma: Any) -> Anchor | None:
    """The fleet's anchor, unless it has none or its disclosure is left out; `resolve`
    turns the anchor's model name into its registry `Subject`, `model_sigma` gives that
    subject's physics error."""
    a = rp.anchor
    if not a or a["disclosure"] in _regime.excluded():
        return None
    s = resolve(a["model"], rp.provider, "chat")
    return Anchor(a["disclosure"], float(a["facility_wh"]), float(a["sigma"]),
                  float(a["input_tokens"]), float(a["output_tokens"]),
                  (s.total_lo, s.total_b, s.total_hi), (s.active_lo, s.active_b, s.active_hi),
                  s.precision, s.shape, s.registry_model or s.name,
                  float(model_sigma("text", s)), s.provider)


def weighted_percentile(xs: Sequence[float], ws: Sequence[float], q: float) -> float:
    """The `q` quantile (0-1) of `xs` under weights `ws` (the weighted empirical CDF)."""
    pairs = sorted(zip(xs, ws, strict=True))
    total = sum(w for _, w in pairs)
    if total <= 0:
        pairs = [(x, 1.0) for x, _ in pairs]
        total = float(len(pairs))
    acc = 0.0
    for x, w in pairs:
        acc += w
        if acc >= q * total:
            return x
    return pairs[-1][0]
