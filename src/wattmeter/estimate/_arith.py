"""The arithmetic of one call, once its coefficients are known: the joules of its two
components (prefill-like and decode-like) and the `Footprint` they make, with every range,
life-cycle and market-based field a few multiplications away (`_api` calls these)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._footprint import Footprint
from .._version import METHOD_VERSION

if TYPE_CHECKING:
    from ._coefficients import Coef

__all__ = ["energy", "footprint"]

_new = tuple.__new__
_MV = METHOD_VERSION
#: Bound by `_api._hook()` (before any coefficient exists) so a non-text call runs no import.
_components: Any = None
_speech: dict[str, Any] = {}


def energy(c: Coef, it: int, ot: int, ct: int, rt: int, width: Any, height: Any, steps: Any,
            frames: Any, fps: Any, seconds: Any, items: Any,
            chars: Any) -> tuple[float, float, bool]:
    """Accelerator joules of the two components, and whether the call gave the quantity a
    model's wider ratios assume (diffusion steps, image tokens; see `Coef.ratios`)."""
    out = ot if rt <= ot else ot + rt  # reasoning counted separately: decode both
    unc = it - ct if ct < it else 0
    if c.kind == "text":
        (pt, pp, pc, m0, m1, c0, c1, t0, iw, dw, wm, wc, _, _, b0) = c.phys
        e0 = unc * (pt + pp * (ct + 0.5 * unc)) + ct * pc + c.request_j
        if out <= 0:
            return e0, 0.0, True
        ctx = it + 0.5 * out
        tm = m0 + m1 * ctx
        tc = c0 + c1 * ctx
        t = (tm if tm > tc else tc) + t0
        u = (wm * tm + wc * tc + b0) / t
        return e0, out * (iw + (u if u < 1.0 else 1.0) * dw) * t, True
    components = _components
    d = c.defaults
    known = True
    if c.kind == "ar-image":  # image tokens decoded like text (docs/methodology.md)
        e0, e1 = components(c.kind, c.phys, d, unc, ct, out, width or d[0], height or d[1],
                            d[2], 0, 1 if items is None else items, 0, 0)
        known = out > 0
    elif c.kind == "diffusion":
        if frames is None:  # frames = seconds x fps + 1 (the first frame is the image at t=0)
            if seconds:
                frames = seconds * (fps or d[4]) + 1.0
            elif fps and d[3] > 1.0:  # the default duration at the given frame rate
                frames = (d[3] - 1.0) * fps / d[4] + 1.0
            else:
                frames = d[3]
        e0, e1 = components(c.kind, c.phys, d, 0, 0, 0, width or d[0], height or d[1],
                            steps or d[2], frames, 1 if items is None else items, 0, 0)
        known = steps is not None
    elif c.kind == "speech":
        cps = _speech["chars_per_second"]
        if seconds is None:
            seconds = (chars or 0) / cps
        if chars is None:
            chars = seconds * cps
        e0, e1 = components(c.kind, c.phys, d, unc, ct, out, 0, 0, 0, 0, 0, seconds, chars)
    else:
        e0, e1 = components(c.kind, c.phys, d, unc, ct, out, 0, 0, 0, 0, 0, seconds or 0, 0)
    return e0 + c.request_j, e1, known


def footprint(c: Coef, r: tuple[float, ...], lf: tuple[float, ...], provider: str,
               model: str, operation: str, team: str,
               labels: Mapping[str, str], it: int, ot: int, ct: int, rt: int, e0: float,
               e1: float, warnings: tuple[str, ...], outcome: str, response_model: str | None,
               timestamp: float) -> Footprint:
    """The footprint of a call's joules `e0`, `e1` under coefficients `c` (ratios `r` and
    life-cycle factors `lf` already sliced for what the call gave)."""
    (_, _, _, _, _, ks, pue, inten, zone, _, _, regm, _, _, regime, boundary, mk, mloc) = c
    j = e0 + e1
    acc = j / 3600.0
    server = acc * ks
    energy = server * pue
    (ke, kw, ka, me_lo, me_hi, mw_lo, mw_hi, ma_lo, ma_hi) = lf
    en_lo = (e0 * r[8] + e1 * r[9]) / 3600.0
    en_hi = (e0 * r[10] + e1 * r[11]) / 3600.0
    acc_lo = (e0 * r[0] + e1 * r[1]) / 3600.0
    acc_hi = (e0 * r[2] + e1 * r[3]) / 3600.0
    co2 = energy * inten / 1000.0
    co2_lo = e0 * r[12] + e1 * r[13]
    co2_hi = e0 * r[14] + e1 * r[15]
    emb = j * ke
    emb_lo = acc_lo * me_lo
    emb_hi = acc_hi * me_hi
    return _new(Footprint, (
        provider, model, operation, team, labels, it, ot, ct, rt,
        energy, en_lo, en_hi, acc, acc_lo, acc_hi,
        server, (e0 * r[4] + e1 * r[5]) / 3600.0, (e0 * r[6] + e1 * r[7]) / 3600.0,
        co2, co2_lo, co2_hi,
        zone, inten, pue, "estimated", warnings, outcome, regm, response_model, timestamp,
        emb, emb_lo, emb_hi, co2 + emb, co2_lo + emb_lo, co2_hi + emb_hi,
        j * kw, en_lo * mw_lo, en_hi * mw_hi, j * ka, en_lo * ma_lo, en_hi * ma_hi,
        regime, boundary, _MV, 0.0, 0.0,
        *((co2, co2_lo, co2_hi) if mloc else
          (energy * mk * 0.001, en_lo * mk * 0.001, en_hi * mk * 0.001)), mk))
