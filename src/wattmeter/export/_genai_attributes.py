"""The attributes wattmeter writes on a GenAI span: attribution, the footprint figures and
the GenAI semantic-convention details of a finished call.

Pure functions of the call and its footprint, shared by the span hooks and the adoption of
another instrumentation's span; values read off the provider's response are cleaned here.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from .._footprint import Footprint
from .._text import clean
from . import semconv as sc

__all__ = ["attribution_attributes", "error_type", "fill_missing", "footprint_attributes",
           "genai_details", "operation_name", "provider_name", "span_name"]


#: (attribute, Footprint field) of the figures on every span, read in one C call.
_FIGURES = (
    (sc.ATTR_ENERGY_WH, "energy_wh"),
    (sc.ATTR_ENERGY_WH_LOW, "energy_wh_low"),
    (sc.ATTR_ENERGY_WH_HIGH, "energy_wh_high"),
    (sc.ATTR_ACCELERATOR_WH, "accelerator_wh"),
    (sc.ATTR_CO2E_G, "co2e_g"),
    (sc.ATTR_CO2E_G_LOW, "co2e_g_low"),
    (sc.ATTR_CO2E_G_HIGH, "co2e_g_high"),
    (sc.ATTR_GRID_ZONE, "grid_zone"),
    (sc.ATTR_GRID_INTENSITY, "grid_gco2e_per_kwh"),
    (sc.ATTR_PUE, "pue"),
    (sc.ATTR_METHOD, "method"),
    # life-cycle impacts (issue 10): embodied and total CO2e, water, abiotic depletion
    (sc.ATTR_CO2E_EMBODIED_G, "co2e_embodied_g"),
    (sc.ATTR_CO2E_EMBODIED_G_LOW, "co2e_embodied_g_low"),
    (sc.ATTR_CO2E_EMBODIED_G_HIGH, "co2e_embodied_g_high"),
    (sc.ATTR_CO2E_TOTAL_G, "co2e_total_g"),
    (sc.ATTR_CO2E_TOTAL_G_LOW, "co2e_total_g_low"),
    (sc.ATTR_CO2E_TOTAL_G_HIGH, "co2e_total_g_high"),
    (sc.ATTR_WATER_ML, "water_ml"),
    (sc.ATTR_WATER_ML_LOW, "water_ml_low"),
    (sc.ATTR_WATER_ML_HIGH, "water_ml_high"),
    (sc.ATTR_ADPE_KGSBEQ, "adpe_kgsbeq"),
    (sc.ATTR_ADPE_KGSBEQ_LOW, "adpe_kgsbeq_low"),
    (sc.ATTR_ADPE_KGSBEQ_HIGH, "adpe_kgsbeq_high"),
    # market-based CO2e beside the location-based co2e_g (GHG Protocol Scope 2)
    (sc.ATTR_CO2E_MARKET_G, "co2e_market_g"),
    (sc.ATTR_CO2E_MARKET_G_LOW, "co2e_market_g_low"),
    (sc.ATTR_CO2E_MARKET_G_HIGH, "co2e_market_g_high"),
    (sc.ATTR_GRID_MARKET_INTENSITY, "grid_market_gco2e_per_kwh"),
)
_FIGURE_KEYS = tuple(key for key, _ in _FIGURES)
_figures = attrgetter(*(field for _, field in _FIGURES))


def operation_name(operation: str) -> str:
    """The GenAI semconv operation name of a wattmeter operation."""
    return sc.OPERATION_NAMES.get(operation, operation)


def provider_name(provider: str) -> str:
    """The GenAI semconv provider name of a wattmeter provider."""
    return sc.PROVIDER_NAMES.get(provider, provider)


def span_name(operation: str, model: str) -> str:
    """The semconv span name of a GenAI call, e.g. ``chat gpt-4o``."""
    return f"{operation_name(operation)} {model}"


def error_type(error: BaseException | None) -> str:
    """The ``error.type`` of a failed call: the exception's class name, else ``error``."""
    return type(error).__qualname__ if error is not None else "error"


def attribution_attributes(call: Any) -> dict[str, Any]:
    """Team and labels of a call, known before it finishes."""
    attrs: dict[str, Any] = {sc.ATTR_TEAM: call.team}
    for name, value in call.labels.items():
        attrs[sc.ATTR_LABEL_PREFIX + name] = value
    return attrs


def footprint_attributes(call: Any, fp: Footprint | None, error: BaseException | None,
                         failed: bool, owned: bool) -> dict[str, Any]:
    """Everything wattmeter puts on a call's span; the ``gen_ai.*`` request values only on
    its own span (`owned`), as an enriched span keeps those its instrumentation set."""
    attrs = attribution_attributes(call)
    if owned:
        usage = call.usage
        attrs[sc.GEN_AI_PROVIDER_NAME] = (usage is not None and usage.provider_name) or \
            provider_name(call.provider)
        attrs[sc.GEN_AI_OPERATION_NAME] = operation_name(call.operation)
        attrs[sc.GEN_AI_REQUEST_MODEL] = call.model
        if failed:
            attrs[sc.ERROR_TYPE] = error_type(error)
    if fp is None:
        return attrs
    if owned:
        if fp.response_model:
            attrs[sc.GEN_AI_RESPONSE_MODEL] = fp.response_model
        attrs.update(genai_details(call, fp))
    attrs.update(zip(_FIGURE_KEYS, _figures(fp), strict=True))
    if fp.regime:  # serving regime, boundary and method version (issue 17)
        attrs[sc.ATTR_REGIME] = fp.regime
        attrs[sc.ATTR_BOUNDARY] = fp.boundary
    if fp.method_version:
        attrs[sc.ATTR_METHOD_VERSION] = fp.method_version
    if fp.warnings:
        attrs[sc.ATTR_WARNINGS] = list(fp.warnings)
    return attrs


def genai_details(call: Any, fp: Footprint) -> dict[str, Any]:
    """The GenAI semconv attributes wattmeter knows of a finished call: counts, response
    id and finish reasons, output type, server address and port."""
    attrs: dict[str, Any] = {sc.GEN_AI_USAGE_INPUT_TOKENS: fp.input_tokens,
                             sc.GEN_AI_USAGE_OUTPUT_TOKENS: fp.output_tokens}
    if fp.cached_input_tokens:
        attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = fp.cached_input_tokens
    if fp.reasoning_tokens:
        attrs[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = fp.reasoning_tokens
    usage = call.usage
    output_type = sc.OUTPUT_TYPES.get(fp.operation)
    if usage is not None:
        output_type = usage.output_type or output_type
        # Read off the provider's response: text only, valid UTF-8, bounded in length and
        # count, so a hostile or broken server can't put megabytes on the span.
        rid = usage.response_id
        if type(rid) is str and rid:
            attrs[sc.GEN_AI_RESPONSE_ID] = clean(rid)
        reasons = usage.finish_reasons
        if reasons:
            attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] = [
                clean(r, 64) for r in list(reasons)[:16] if type(r) is str]
        host = usage.server_address
        if type(host) is str and host:
            attrs[sc.SERVER_ADDRESS] = clean(host)
            port = usage.server_port
            if type(port) is int and 0 < port < 65536:
                attrs[sc.SERVER_PORT] = port
    if output_type:
        attrs[sc.GEN_AI_OUTPUT_TYPE] = output_type
    return attrs


def fill_missing(attrs: dict[str, Any], existing: Any, call: Any, fp: Footprint) -> None:
    """Add the GenAI details a span lacks (`existing`: its attributes, or None)."""
    details = genai_details(call, fp)
    if existing is None:
        attrs.update(details)
        return
    # The keys read once: `in` on the SDK's attribute mapping raises and catches a
    # KeyError inside for every key it lacks (~0.4 µs each, on the caller's thread).
    present = set(existing)
    for key, value in details.items():
        if key not in present:
            attrs[key] = value
