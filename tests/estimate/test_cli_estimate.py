"""``wattmeter estimate``: table, JSON, exit status 2 with the error sentence."""

from __future__ import annotations

import json

import pytest

from wattmeter.cli import main


def test_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "gpt-4o", "--provider", "openai", "--input-tokens", "1200",
                 "--output-tokens", "400"]) == 0
    out = capsys.readouterr().out
    assert "openai/gpt-4o" in out and "facility Wh" in out and "CO2e usage g" in out
    for row in ("CO2e embodied g", "CO2e total g", "water mL", "ADPe kg Sb eq"):
        assert row in out


def test_json_is_footprint_dict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "black-forest-labs/FLUX.1-dev", "--operation", "image",
                 "--width", "1024", "--height", "1024", "--steps", "28", "--gpu", "h100",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["operation"] == "image" and d["method"] == "estimated"
    assert d["accelerator_wh"] <= d["server_wh"] <= d["energy_wh"]
    for name in ("co2e_embodied_g", "co2e_total_g", "water_ml", "adpe_kgsbeq"):
        assert 0 < d[name + "_low"] <= d[name] <= d[name + "_high"], name
    assert d["co2e_total_g"] == pytest.approx(d["co2e_g"] + d["co2e_embodied_g"])


def test_model_by_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "--total-params-b", "235", "--active-params-b", "22",
                 "--precision", "fp8", "--gpu", "H100", "--gpus", "4", "--output-tokens",
                 "100", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["registry_model"] is None


@pytest.mark.parametrize(("argv", "field"), [
    (["estimate", "gpt-4o", "--input-tokens", "-5"], "input_tokens"),
    (["estimate", "gpt-4o", "--gpu", "Z100"], "gpu"),
    (["estimate", "gpt-4o", "--operation", "dance"], "operation"),
    (["estimate", "gpt-4o", "--zone", "Atlantis"], "zone"),
    (["estimate"], "model"),
])
def test_bad_input_exits_2(argv: list[str], field: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert field in capsys.readouterr().err


def test_unknown_model_warns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "acme-13b", "--output-tokens", "10"]) == 0
    assert "warning" in capsys.readouterr().out


def test_regime_boundary_and_method_version_shown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "gpt-4o", "--provider", "openai", "--input-tokens", "400",
                 "--output-tokens", "400"]) == 0
    assert "regime      provider; energy boundary comprehensive; method wattmeter/" in (
        capsys.readouterr().out)
    assert main(["estimate", "stable-diffusion-v1-5", "--operation", "image", "--gpu", "A100",
                 "--regime", "naive", "--date", "2024-03-01", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["regime"], d["boundary"]) == ("naive", "facility") and d["method_version"]
    assert main(["estimate", "gpt-4o", "--date", "last week"]) == 2
    assert "date: got 'last week'" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "what"), [
    (["--provider", "openai", "--zone", "DE"], "residual mix; AIB"),
    (["--provider", "google"], "the provider's published factor; Elsworth"),
    (["--provider", "openai"], "location-based stand-in"),
])
def test_market_based_row_and_its_source(argv: list[str], what: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "gpt-4o", *argv, "--input-tokens", "100",
                 "--output-tokens", "50"]) == 0
    out = capsys.readouterr().out
    assert "CO2e usage market g" in out
    (line,) = [x for x in out.splitlines() if x.startswith("market ")]
    assert "gCO2e/kWh (market-based, GHG Protocol Scope 2)" in line and what in line
    assert main(["estimate", "gpt-4o", *argv, "--input-tokens", "100", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["co2e_market_g_low"] <= d["co2e_market_g"] <= d["co2e_market_g_high"]
    assert d["grid_market_gco2e_per_kwh"] > 0


def test_a_self_hosted_chat_says_what_would_narrow_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The tuned regime's range is mostly the unknown batch: the table says so, with the
    width the call would have with a batch given; it stays quiet once one is given, and for
    a provider's model (its range is the fleet's, not a batch the user knows)."""
    args = ["estimate", "Qwen/Qwen3-32B", "--input-tokens", "500", "--output-tokens", "400"]
    assert main(args) == 0
    note = [line for line in capsys.readouterr().out.splitlines() if "--batch-size" in line]
    assert len(note) == 1 and note[0].startswith("note")
    wide, narrow = (float(w.split()[0]) for w in note[0].split(" x")[1:3])
    assert wide > 10 and narrow < 5, note
    for quiet in ([*args, "--batch-size", "32"],
                  ["estimate", "gpt-4o", "--input-tokens", "500", "--output-tokens", "400"]):
        assert main(quiet) == 0
        assert "--batch-size" not in capsys.readouterr().out
