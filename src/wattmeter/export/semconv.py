"""Every name wattmeter puts on the wire: span attributes, OpenTelemetry and Prometheus metrics.

One module so the README, the dashboard and the alert rules have one place to agree with.
GenAI names follow the OpenTelemetry GenAI semantic conventions; ours live under
``wattmeter.*`` (spans, OTel metrics) and ``wattmeter_*`` (Prometheus, base units).
"""

from __future__ import annotations

__all__ = [
    "ATTR_ACCELERATOR_WH", "ATTR_CO2E_G", "ATTR_CO2E_G_HIGH", "ATTR_CO2E_G_LOW",
    "ATTR_ENERGY_WH", "ATTR_ENERGY_WH_HIGH", "ATTR_ENERGY_WH_LOW", "ATTR_GRID_INTENSITY",
    "ATTR_GRID_ZONE", "ATTR_LABEL_PREFIX", "ATTR_METHOD", "ATTR_PUE", "ATTR_TEAM",
    "ATTR_WARNINGS", "BUDGET_GAUGES", "BUDGET_UNITS", "ERROR_TYPE", "FOOTPRINT_SPAN",
    "GEN_AI_OPERATION_NAME", "GEN_AI_OUTPUT_TYPE", "GEN_AI_PROVIDER_NAME",
    "GEN_AI_REQUEST_MODEL", "GEN_AI_RESPONSE_FINISH_REASONS", "GEN_AI_RESPONSE_ID",
    "GEN_AI_RESPONSE_MODEL", "GEN_AI_SYSTEM", "GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS",
    "GEN_AI_USAGE_INPUT_TOKENS", "GEN_AI_USAGE_OUTPUT_TOKENS",
    "GEN_AI_USAGE_REASONING_OUTPUT_TOKENS", "LABEL_BUDGET", "LABEL_MODEL", "LABEL_OPERATION",
    "LABEL_OUTCOME", "LABEL_PROVIDER", "LABEL_REASON", "LABEL_TEAM", "LABEL_TYPE", "LABEL_UNIT",
    "LABEL_VERSION", "LABEL_WHERE", "OPERATION_NAMES", "OTEL_CALL_ENERGY", "OTEL_CO2E",
    "OTEL_ENERGY", "OUTPUT_TYPES", "OVERFLOW", "PROM_ADPE", "PROM_BUDGET_FORECAST",
    "PROM_BUDGET_FORECAST_RATIO", "PROM_BUDGET_LIMIT", "PROM_BUDGET_REMAINING",
    "PROM_BUDGET_USED", "PROM_BUDGET_USED_RATIO", "PROM_BUILD_INFO", "PROM_CALL_ENERGY",
    "PROM_CO2E", "PROM_CO2E_EMBODIED", "PROM_DROPPED", "PROM_ENERGY", "PROM_ERRORS",
    "PROM_REQUESTS", "PROM_TOKENS", "PROM_WATER", "PROVIDER_NAMES", "SERVER_ADDRESS", "SERVER_PORT",
    "TOKEN_TYPES",
]

# --- OpenTelemetry GenAI semantic conventions -------------------------------------------
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_SYSTEM = "gen_ai.system"  # the older name, still set by many instrumentations
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
ERROR_TYPE = "error.type"
# details wattmeter knows (names from the GenAI semconv registry, semantic-conventions 0.66b2)
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"  # string array
GEN_AI_OUTPUT_TYPE = "gen_ai.output.type"  # text, json, image, speech
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"

#: wattmeter operation -> `gen_ai.output.type` when the call doesn't say (e.g. json).
OUTPUT_TYPES = {"chat": "text", "completion": "text", "image": "image", "speech": "speech"}

#: wattmeter operation -> `gen_ai.operation.name` well-known value (semconv); the last
#: three have no well-known value yet, so they keep wattmeter's own name.
OPERATION_NAMES = {
    "chat": "chat",
    "completion": "text_completion",
    "embeddings": "embeddings",
    "image": "generate_content",
    "video": "generate_content",
    "speech": "speech",
    "transcription": "transcription",
}

#: wattmeter provider -> `gen_ai.provider.name` well-known value (others pass through).
PROVIDER_NAMES = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "gcp.gen_ai",  # "any Google generative AI endpoint", when it isn't known which
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "mistral": "mistral_ai",
    "mistralai": "mistral_ai",
    "cohere": "cohere",
    "azure": "azure.ai.openai",
    "bedrock": "aws.bedrock",
    "aws": "aws.bedrock",  # Claude through AnthropicBedrock
    "groq": "groq",
    "deepseek": "deepseek",
    "perplexity": "perplexity",
    "xai": "x_ai",
}

# --- wattmeter span attributes -------------------------------------------------------------
ATTR_ENERGY_WH = "wattmeter.energy_wh"
ATTR_ENERGY_WH_LOW = "wattmeter.energy_wh.low"
ATTR_ENERGY_WH_HIGH = "wattmeter.energy_wh.high"
ATTR_ACCELERATOR_WH = "wattmeter.accelerator_wh"
ATTR_CO2E_G = "wattmeter.co2e_g"
ATTR_CO2E_G_LOW = "wattmeter.co2e_g.low"
ATTR_CO2E_G_HIGH = "wattmeter.co2e_g.high"
ATTR_GRID_ZONE = "wattmeter.grid.zone"
ATTR_GRID_INTENSITY = "wattmeter.grid.intensity_gco2e_per_kwh"
ATTR_PUE = "wattmeter.pue"
ATTR_TEAM = "wattmeter.team"
ATTR_LABEL_PREFIX = "wattmeter.label."  # + label name, e.g. wattmeter.label.feature
ATTR_METHOD = "wattmeter.method"  # "estimated" or "measured"
ATTR_WARNINGS = "wattmeter.warnings"  # string array

# --- wattmeter span attributes: life-cycle impacts (issue 10; docs/methodology.md) -------
#: ``wattmeter.co2e_g`` above is the usage (operational, location-based) CO2e; these add
#: the hardware's embodied share, the total, water (mL) and abiotic depletion (kg Sb eq).
ATTR_CO2E_EMBODIED_G = "wattmeter.co2e_embodied_g"
ATTR_CO2E_EMBODIED_G_LOW = "wattmeter.co2e_embodied_g.low"
ATTR_CO2E_EMBODIED_G_HIGH = "wattmeter.co2e_embodied_g.high"
ATTR_CO2E_TOTAL_G = "wattmeter.co2e_total_g"
ATTR_CO2E_TOTAL_G_LOW = "wattmeter.co2e_total_g.low"
ATTR_CO2E_TOTAL_G_HIGH = "wattmeter.co2e_total_g.high"
ATTR_WATER_ML = "wattmeter.water_ml"
ATTR_WATER_ML_LOW = "wattmeter.water_ml.low"
ATTR_WATER_ML_HIGH = "wattmeter.water_ml.high"
ATTR_ADPE_KGSBEQ = "wattmeter.adpe_kgsbeq"
ATTR_ADPE_KGSBEQ_LOW = "wattmeter.adpe_kgsbeq.low"
ATTR_ADPE_KGSBEQ_HIGH = "wattmeter.adpe_kgsbeq.high"
#: Footprint field -> span attribute, for the twelve life-cycle values.
LIFECYCLE_ATTRS = {
    "co2e_embodied_g": ATTR_CO2E_EMBODIED_G,
    "co2e_embodied_g_low": ATTR_CO2E_EMBODIED_G_LOW,
    "co2e_embodied_g_high": ATTR_CO2E_EMBODIED_G_HIGH,
    "co2e_total_g": ATTR_CO2E_TOTAL_G,
    "co2e_total_g_low": ATTR_CO2E_TOTAL_G_LOW,
    "co2e_total_g_high": ATTR_CO2E_TOTAL_G_HIGH,
    "water_ml": ATTR_WATER_ML,
    "water_ml_low": ATTR_WATER_ML_LOW,
    "water_ml_high": ATTR_WATER_ML_HIGH,
    "adpe_kgsbeq": ATTR_ADPE_KGSBEQ,
    "adpe_kgsbeq_low": ATTR_ADPE_KGSBEQ_LOW,
    "adpe_kgsbeq_high": ATTR_ADPE_KGSBEQ_HIGH,
}
__all__ += [
    "ATTR_ADPE_KGSBEQ", "ATTR_ADPE_KGSBEQ_HIGH", "ATTR_ADPE_KGSBEQ_LOW",
    "ATTR_CO2E_EMBODIED_G", "ATTR_CO2E_EMBODIED_G_HIGH", "ATTR_CO2E_EMBODIED_G_LOW",
    "ATTR_CO2E_TOTAL_G", "ATTR_CO2E_TOTAL_G_HIGH", "ATTR_CO2E_TOTAL_G_LOW",
    "ATTR_WATER_ML", "ATTR_WATER_ML_HIGH", "ATTR_WATER_ML_LOW", "LIFECYCLE_ATTRS",
]

# --- wattmeter span attributes: serving regime, boundary, method version (issue 17) -------
ATTR_REGIME = "wattmeter.regime"  # "provider", "tuned" or "naive" (docs/regimes.md)
ATTR_BOUNDARY = "wattmeter.boundary"  # what wattmeter.energy_wh counts: "comprehensive", ...
ATTR_METHOD_VERSION = "wattmeter.method.version"  # wattmeter._version.METHOD_VERSION
__all__ += ["ATTR_BOUNDARY", "ATTR_METHOD_VERSION", "ATTR_REGIME"]
# --- wattmeter span attributes: market-based CO2e (GHG Protocol Scope 2; docs/grid.md) ----
#: Beside the location-based ``wattmeter.co2e_g``: the same energy times the provider's
#: published market-based factor, else the residual mix, else the location-based factor.
ATTR_CO2E_MARKET_G = "wattmeter.co2e_market_g"
ATTR_CO2E_MARKET_G_LOW = "wattmeter.co2e_market_g.low"
ATTR_CO2E_MARKET_G_HIGH = "wattmeter.co2e_market_g.high"
ATTR_GRID_MARKET_INTENSITY = "wattmeter.grid.market_intensity_gco2e_per_kwh"
__all__ += ["ATTR_CO2E_MARKET_G", "ATTR_CO2E_MARKET_G_HIGH", "ATTR_CO2E_MARKET_G_LOW",
            "ATTR_GRID_MARKET_INTENSITY", "PROM_CO2E_MARKET"]

# --- where figures go when the GenAI span had ended (see export/otel.py) -----------------
FOOTPRINT_SPAN = "wattmeter.footprint"  # a short INTERNAL child span of the ended span

# --- OpenTelemetry metrics (otel_metrics=true) ------------------------------------------
OTEL_ENERGY = "wattmeter.energy"  # counter, J
OTEL_CO2E = "wattmeter.co2e"  # counter, g
OTEL_CALL_ENERGY = "wattmeter.call.energy"  # histogram, J

# --- Prometheus (names as exposed; base units, so a sum over any label is meaningful) ----
PROM_ENERGY = "wattmeter_energy_joules_total"
PROM_CO2E = "wattmeter_co2e_grams_total"  # usage (operational) CO2e, location-based
PROM_CO2E_EMBODIED = "wattmeter_co2e_embodied_grams_total"  # hardware manufacturing share
PROM_CO2E_MARKET = "wattmeter_co2e_market_grams_total"  # usage CO2e, market-based (Scope 2)
PROM_WATER = "wattmeter_water_liters_total"  # on-site + electricity water, liters
PROM_ADPE = "wattmeter_adpe_sb_eq_grams_total"  # abiotic depletion, grams of antimony eq.
PROM_REQUESTS = "wattmeter_requests_total"
PROM_TOKENS = "wattmeter_tokens_total"
PROM_CALL_ENERGY = "wattmeter_call_energy_joules"  # histogram: _bucket, _sum, _count
PROM_ERRORS = "wattmeter_errors_total"
#: Call records dropped before they were counted (the record queue was full), by reason.
PROM_DROPPED = "wattmeter_dropped_total"
PROM_BUILD_INFO = "wattmeter_build_info"
#: Budget gauges with a unit: one gauge per unit (+ "_joules" or "_grams"), never mixed.
PROM_BUDGET_LIMIT = "wattmeter_budget_limit"
PROM_BUDGET_USED = "wattmeter_budget_used"
PROM_BUDGET_REMAINING = "wattmeter_budget_remaining"
PROM_BUDGET_FORECAST = "wattmeter_budget_forecast"
#: Unitless budget gauges (ratios to the limit).
PROM_BUDGET_USED_RATIO = "wattmeter_budget_used_ratio"
PROM_BUDGET_FORECAST_RATIO = "wattmeter_budget_forecast_ratio"
BUDGET_GAUGES = (PROM_BUDGET_LIMIT, PROM_BUDGET_USED, PROM_BUDGET_REMAINING,
                 PROM_BUDGET_FORECAST)
#: The units a budget gauge comes in (its name's suffix).
BUDGET_UNITS = ("joules", "grams")

LABEL_TEAM = "team"
LABEL_PROVIDER = "provider"
LABEL_MODEL = "model"
LABEL_OPERATION = "operation"
LABEL_OUTCOME = "outcome"
LABEL_TYPE = "type"
LABEL_WHERE = "where"
LABEL_REASON = "reason"
LABEL_VERSION = "version"
LABEL_BUDGET = "budget"
LABEL_UNIT = "unit"
#: `type` values of wattmeter_tokens_total: disjoint, so a sum over types counts each token
#: once (uncached + cached = the provider's input; output + reasoning = its output).
TOKEN_TYPES = ("uncached_input", "cached_input", "output", "reasoning")
#: The value a label takes once it has seen `max_label_values` distinct values.
OVERFLOW = "__overflow__"
