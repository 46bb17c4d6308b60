"""Grid zones and provider defaults: coverage, sources, spellings, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wattmeter.estimate import _grid
from wattmeter.estimate._grid import (
    all_providers,
    all_zones,
    intensity_for,
    provider_defaults,
    zone_intensity,
)

GPUS = {"H100", "H200", "B200", "A100", "L40S", "L4", "TPU-v5e", "TPU-v6e", "MI300X"}


def test_zone_table_coverage_and_sources() -> None:
    zones = all_zones()
    kinds = [z.kind for z in zones]
    assert kinds.count("world") == 1
    assert kinds.count("country") >= 50
    regions = [z for z in zones if z.kind == "cloud-region"]
    assert len(regions) >= 40
    for cloud in ("aws:", "gcp:", "azure:"):
        assert sum(z.zone.startswith(cloud) for z in regions) >= 10, cloud
    for z in zones:
        assert z.source.strip() and 2020 <= z.year <= 2026, z.zone
        assert 0 <= z.gco2e_per_kwh <= 1200, z.zone
        assert z.basis in ("life-cycle", "direct"), z.zone
        assert z.name, z.zone
    for z in zones:
        if z.kind == "country":
            assert len(z.zone) == 2 and z.zone.isupper(), z.zone


def test_every_zone_resolves_by_its_code_in_any_case() -> None:
    for z in all_zones():
        assert zone_intensity(z.zone) is z
        assert zone_intensity(z.zone.lower()) is z
        assert zone_intensity(f"  {z.zone.upper()} ") is z
        assert intensity_for(z.zone) == z.gco2e_per_kwh


@pytest.mark.parametrize(("spelling", "zone"), [
    ("WORLD", "WORLD"), ("world", "WORLD"), ("us", "US"), ("Fr", "FR"), ("IN", "IN"),
    ("CN", "CN"), ("DE", "DE"),
    ("aws:us-east-1", "aws:us-east-1"), ("us-east-1", "aws:us-east-1"),
    ("AWS:EU-WEST-3", "aws:eu-west-3"), ("aws/eu-central-1", "aws:eu-central-1"),
    ("gcp:us-central1", "gcp:us-central1"), ("us-central1", "gcp:us-central1"),
    ("google:europe-west1", "gcp:europe-west1"), ("europe-west9", "gcp:europe-west9"),
    ("azure:eastus", "azure:eastus"), ("eastus", "azure:eastus"),
    ("westeurope", "azure:westeurope"), ("Azure:SwedenCentral", "azure:swedencentral"),
])
def test_zone_spellings(spelling: str, zone: str) -> None:
    assert zone_intensity(spelling).zone == zone


def test_known_values() -> None:
    assert zone_intensity("WORLD").gco2e_per_kwh == 473  # published-figures.csv grid-world-2024
    assert 300 < zone_intensity("US").gco2e_per_kwh < 450  # Ember via OWID (grid_data.py)
    assert zone_intensity("FR").gco2e_per_kwh < 100 < zone_intensity("PL").gco2e_per_kwh
    # AWS/Azure regions take the figure of the same grid zone as a Google Cloud region
    assert zone_intensity("aws:us-east-1").gco2e_per_kwh == \
        zone_intensity("gcp:us-east4").gco2e_per_kwh
    assert zone_intensity("azure:francecentral").live_zone == "FR"
    assert zone_intensity("WORLD").live_zone == ""


@pytest.mark.parametrize("bad", ["XX", "mars", "", "aws:us-nowhere-9", "gcp:", "  ", "U S"])
def test_unknown_zone_names_the_valid_forms(bad: str) -> None:
    with pytest.raises(ValueError, match=r"ISO 3166.*aws:us-east-1.*grid_intensity"):
        zone_intensity(bad)
    with pytest.raises(ValueError, match="unknown"):
        intensity_for(bad)


def test_non_string_zone_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        zone_intensity(42)  # type: ignore[arg-type]


def test_basis_is_stated() -> None:
    data = json.loads((Path(_grid.__file__).with_name("data") / "grid.json").read_text())
    assert "location-based" in data["basis"].lower() and "life-cycle" in data["basis"]
    assert data["unit"] == "gCO2e/kWh"


# ---------------------------------------------------------------------------- providers
REQUIRED = ("openai", "azure", "anthropic", "google", "mistral", "cohere", "huggingface",
            "together", "groq", "deepseek", "self-hosted", "custom")


def test_providers_complete_and_consistent() -> None:
    providers = all_providers()
    for name in REQUIRED:
        assert name in providers, name
    for p in providers.values():
        assert p.source.strip() and 2020 <= p.year <= 2026, p.provider
        assert 1.0 <= p.pue_low <= p.pue <= p.pue_high <= 3.0, p.provider
        zone = zone_intensity(p.zone)
        assert p.intensity_low <= zone.gco2e_per_kwh <= p.intensity_high, p.provider
        assert p.hardware and all(g in GPUS and w > 0 for g, w in p.hardware), p.provider
        assert abs(sum(w for _, w in p.hardware) - 1.0) < 1e-9, p.provider


@pytest.mark.parametrize(("alias", "provider"), [
    ("gemini", "google"), ("vertex_ai", "google"), ("Google-GenAI", "google"),
    ("azure_openai", "azure"), ("mistralai", "mistral"), ("huggingface_hub", "huggingface"),
    ("together_ai", "together"), ("vllm", "self-hosted"), ("OpenAI", "openai"),
])
def test_provider_aliases(alias: str, provider: str) -> None:
    assert provider_defaults(alias).provider == provider


@pytest.mark.parametrize("unknown", [None, "", "some-startup", "unknown"])
def test_unknown_provider_gets_generic_defaults(unknown: str | None) -> None:
    p = provider_defaults(unknown)
    assert p.provider == "custom" and p.zone == "WORLD"
    assert p.pue_high > p.pue_low  # never a zero-width range


def test_intensity_for_is_memoized() -> None:
    intensity_for("aws:eu-west-3")
    assert _grid._intensity["aws:eu-west-3"] == zone_intensity("aws:eu-west-3").gco2e_per_kwh
