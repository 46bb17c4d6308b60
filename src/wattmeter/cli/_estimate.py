"""``wattmeter estimate``: the footprint of one call, as a table or as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

NAME = "estimate"
HELP = "estimate the energy and CO2e of one generative call"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments mirror `wattmeter.estimate()`."""
    parser.add_argument("model", nargs="?",
                        help="model name, e.g. gpt-4o (or use --total-params-b)")
    parser.add_argument("--provider", help="provider, e.g. openai, anthropic, google")
    parser.add_argument("--operation",
                        help="chat, completion, embeddings, image, video, speech, "
                             "transcription (default: the registered model's modality, "
                             "else chat)")
    for name in ("input-tokens", "output-tokens", "cached-input-tokens", "reasoning-tokens"):
        parser.add_argument(f"--{name}", type=int, help="default 0")
    g = parser.add_argument_group("model given by size")
    g.add_argument("--total-params-b", type=float, help="total parameters in billions")
    g.add_argument("--active-params-b", type=float, help="active parameters (MoE), billions")
    g.add_argument("--precision", help="weight precision: bf16, fp8, fp4, int4, ...")
    g.add_argument("--family", help="diffusion family (flux, sd3, wan, ...) for --total-params-b")
    d = parser.add_argument_group("deployment")
    d.add_argument("--gpu", help="H100, H200, B200, A100, L40S, L4, TPU-v5e, TPU-v6e, MI300X")
    d.add_argument("--gpus", type=int, help="GPUs serving the model")
    d.add_argument("--batch-size", type=int, help="concurrent sequences / images per batch")
    d.add_argument("--kv-cache", help="the KV cache's precision: bf16 (default) or fp8")
    d.add_argument("--regime", choices=("provider", "tuned", "naive"),
                   help="serving regime (default: provider fleets for provider-served "
                        "models, tuned for self-hosted ones; docs/regimes.md)")
    d.add_argument("--date", help="the call's date (ISO, e.g. 2025-05-01): the provider "
                                  "fleet in effect then (default: today)")
    m = parser.add_argument_group("media")
    for name in ("width", "height", "steps", "frames", "images", "characters"):
        m.add_argument(f"--{name}", type=int)
    for name in ("seconds", "fps", "audio-seconds"):
        m.add_argument(f"--{name}", type=float)
    grid = parser.add_argument_group("grid and facility")
    grid.add_argument("--zone", "--grid-zone", dest="zone",
                      help="grid zone: ISO country code or cloud region (the configuration's "
                           "grid_zone)")
    grid.add_argument("--grid-intensity", type=float, help="gCO2e/kWh (overrides --zone)")
    grid.add_argument("--pue", type=float, help="power usage effectiveness")
    parser.add_argument("--json", action="store_true", help="print Footprint.to_dict() as JSON")


def _model(args: argparse.Namespace) -> Any:
    from ..estimate import ModelSpec

    if args.total_params_b is not None:
        return ModelSpec(args.total_params_b, args.active_params_b, args.precision or "bf16",
                         family=args.family)
    if not args.model:
        raise ValueError("model: give a model name or --total-params-b")
    if args.precision or args.active_params_b is not None:
        raise ValueError("--precision and --active-params-b need --total-params-b "
                         "(a registered model has its own)")
    return args.model


def _check_provider(provider: str | None) -> None:
    """A provider the grid table or the model registry knows; a typo is an error, not a
    silent fall-back to the world grid."""
    if provider is None:
        return
    from ..estimate._grid import all_providers, provider_defaults
    from ..estimate._registry import all_models

    known = set(all_providers())
    key = provider.strip().lower()
    if (provider_defaults(provider).provider != "custom" or key == "custom"
            or key in {m.provider.lower() for m in all_models()}):
        return
    raise ValueError(f"--provider: unknown provider {provider!r}; expected one of "
                     f"{', '.join(sorted(known))} (or leave it out to use the model's own)")


def _name_facts(args: argparse.Namespace) -> dict[str, Any]:
    """What the model's name states (precision, sizes, experts, family, modality), which
    overrides its registry entry's own; empty for a model given by size."""
    if args.total_params_b is not None or not args.model:
        return {}
    from ..estimate._name_facts import describe, read

    return describe(read(args.model))


def _facts_line(facts: dict[str, Any]) -> str:
    parts = []
    if "precision" in facts:
        parts.append(f"precision {facts['precision']} ({facts.get('precision_tag')})")
    if "total_b" in facts:
        parts.append(f"{facts['total_b']:g}B total")
    if "active_b" in facts:
        parts.append(f"{facts['active_b']:g}B active")
    if "experts" in facts:
        parts.append(f"{facts['experts']} experts")
    for key in ("family", "modality"):
        if key in facts:
            parts.append(f"{key} {facts[key]}")
    return ", ".join(parts)


def _fmt(x: float) -> str:
    return f"{x:.4g}" if x >= 1e-3 or x == 0 else f"{x:.3e}"


def _market_line(fp: Any) -> str:
    """Which market-based factor the call took and where it comes from (docs/grid.md)."""
    from ..estimate._grid import provider_defaults
    from ..estimate._market import market_factor

    m = market_factor(provider_defaults(fp.provider).provider, fp.grid_zone,
                      fp.grid_gco2e_per_kwh)
    what = {"provider": "the provider's published factor", "residual-mix": "residual mix",
            "location": "location-based stand-in"}.get(m.kind, m.kind)
    year = f", {m.year}" if m.year else ""
    return (f"{fp.grid_market_gco2e_per_kwh:g} gCO2e/kWh (market-based, GHG Protocol Scope 2): "
            f"{what}; {m.source}{year}")


def run(args: argparse.Namespace) -> int:
    """Print the estimate; a bad argument is a ValueError (exit status 2)."""
    from ..estimate import Deployment, estimate

    _check_provider(args.provider)
    dep = None
    if (args.gpu or args.gpus is not None or args.batch_size is not None or args.regime
            or args.kv_cache):
        dep = Deployment(gpu=args.gpu, gpus=args.gpus, batch_size=args.batch_size,
                         regime=args.regime, kv_cache=args.kv_cache)

    def at(deployment: Any) -> Any:
        return estimate(_model(args), args.provider, args.operation,
                        input_tokens=args.input_tokens or 0,
                        output_tokens=args.output_tokens or 0,
                        cached_input_tokens=args.cached_input_tokens or 0,
                        reasoning_tokens=args.reasoning_tokens or 0, images=args.images,
                        width=args.width, height=args.height, steps=args.steps,
                        frames=args.frames, seconds=args.seconds, fps=args.fps,
                        characters=args.characters, audio_seconds=args.audio_seconds,
                        deployment=deployment, zone=args.zone,
                        grid_intensity=args.grid_intensity, pue=args.pue, date=args.date)

    fp = at(dep)
    notes = _notes(args, fp)
    batch = _batch_note(args, fp, at)
    if batch:
        notes.append(batch)
    facts = _name_facts(args)
    if args.json:
        print(json.dumps({**fp.to_dict(), "name_facts": facts}, indent=2))
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        return 0
    print(f"model       {fp.model}" + (f"  (registry: {fp.registry_model})"
                                       if fp.registry_model else "  (not in the registry)"))
    if facts:
        print(f"from name   {_facts_line(facts)}")
    print(f"provider    {fp.provider}    operation {fp.operation}")
    if fp.operation in _TEXT_OPS:
        print(f"tokens      input {fp.input_tokens} (cached {fp.cached_input_tokens}), "
              f"output {fp.output_tokens} (reasoning {fp.reasoning_tokens})")
    rows = (
        ("accelerator", "Wh", (fp.accelerator_wh, fp.accelerator_wh_low, fp.accelerator_wh_high)),
        ("server", "Wh", (fp.server_wh, fp.server_wh_low, fp.server_wh_high)),
        ("facility", "Wh", (fp.energy_wh, fp.energy_wh_low, fp.energy_wh_high)),
        ("CO2e usage", "g", (fp.co2e_g, fp.co2e_g_low, fp.co2e_g_high)),
        ("CO2e usage market", "g", (fp.co2e_market_g, fp.co2e_market_g_low,
                                    fp.co2e_market_g_high)),
        ("CO2e embodied", "g", (fp.co2e_embodied_g, fp.co2e_embodied_g_low,
                                fp.co2e_embodied_g_high)),
        ("CO2e total", "g", (fp.co2e_total_g, fp.co2e_total_g_low, fp.co2e_total_g_high)),
        ("water", "mL", (fp.water_ml, fp.water_ml_low, fp.water_ml_high)),
        ("ADPe", "kg Sb eq", (fp.adpe_kgsbeq, fp.adpe_kgsbeq_low, fp.adpe_kgsbeq_high)),
    )
    width = max(len(f"{label} {unit}") for label, unit, _ in rows) + 2
    print(f"{'':{width}}{'central':>12}{'low (p5)':>12}{'high (p95)':>12}")
    for label, unit, (c, lo, hi) in rows:
        print(f"{label + ' ' + unit:<{width}}{_fmt(c):>12}{_fmt(lo):>12}{_fmt(hi):>12}")
    print(f"grid        {fp.grid_zone} at {fp.grid_gco2e_per_kwh:g} gCO2e/kWh (location-based); "
          f"PUE {fp.pue:g}; method {fp.method}")
    print(f"regime      {fp.regime}; energy boundary {fp.boundary}; method "
          f"{fp.method_version}")
    print(f"market      {_market_line(fp)}")
    print("boundary    CO2e usage = operational electricity; embodied = hardware manufacturing "
          "amortised; total = both")
    for w in fp.warnings:
        print(f"warning     {w}")
    for note in notes:
        print(f"note        {note}")
    return 0


#: Operations whose size is their token counts.
_TEXT_OPS = ("chat", "completion", "embeddings")


def _notes(args: argparse.Namespace, fp: Any) -> list[str]:
    """What the user should know about their call: counts assumed, a name that looks mistyped."""
    notes = []
    if fp.operation in _TEXT_OPS and args.input_tokens is None and args.output_tokens is None:
        notes.append("no --input-tokens/--output-tokens given: this is a call of 0 tokens (the "
                     "per-request cost only); e.g. --input-tokens 400 --output-tokens 400")
    if args.model and fp.registry_model is None and args.total_params_b is None:
        close = close_names(args.model)
        if close:
            notes.append(f"{args.model!r} is not a registered model; did you mean "
                         f"{' or '.join(close)}? (`wattmeter models` lists them)")
    return notes


def _batch_note(args: argparse.Namespace, fp: Any, at: Any) -> str | None:
    """For a self-hosted text call without a batch: how much knowing it would narrow the
    range (the batch a request sees is most of the tuned regime's width: docs/regimes.md)."""
    from ..estimate import Deployment
    from ..estimate._physics import constants

    if (fp.regime != "tuned" or fp.operation not in ("chat", "completion")
            or args.batch_size is not None or not fp.energy_wh_low > 0.0):
        return None
    kt = constants("text")
    median = int(kt["batch_median"])
    given = at(Deployment(gpu=args.gpu, gpus=args.gpus, batch_size=median, regime="tuned",
                          kv_cache=args.kv_cache))
    wide = fp.energy_wh_high / fp.energy_wh_low
    narrow = given.energy_wh_high / given.energy_wh_low if given.energy_wh_low > 0 else wide
    if wide < 1.5 * narrow:
        return None
    return (f"the range is x{wide:.1f} wide (p95/p5), mostly the batch a request sees on a "
            f"replica of unknown load ({kt['batch_p5']:g}-{kt['batch_p95']:g} sequences "
            f"assumed); with it given (e.g. --batch-size {median}: your replica's typical "
            f"running requests, vLLM's num_requests_running) it is x{narrow:.1f}")


def close_names(name: str, n: int = 2) -> list[str]:
    """Registered names (ids without their vendor, aliases) close to a mistyped `name`."""
    import difflib

    from ..estimate._registry import all_models

    names = set()
    for info in all_models():
        names.add(info.id.rsplit("/", 1)[-1])
        names.update(info.aliases)
    key = name.strip().rsplit("/", 1)[-1].lower()
    by_lower = {n.lower(): n for n in names}
    return [by_lower[m] for m in difflib.get_close_matches(key, list(by_lower), n=n, cutoff=0.8)]
