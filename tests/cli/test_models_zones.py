"""``wattmeter models`` and ``wattmeter zones``: filters, table and JSON output, bad input."""

from __future__ import annotations

import json

import pytest

from wattmeter.cli import main


def test_models_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "openai/gpt-4o" in out and "black-forest-labs/FLUX.1-dev" in out
    assert "110 [60-220]" in out  # an undisclosed size shows its range


def test_models_filters_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--provider", "OpenAI", "--modality", "speech", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {r["provider"] for r in rows} == {"openai"}
    assert {r["modality"] for r in rows} == {"speech"}
    assert {"tts-1"} <= {a for r in rows for a in r["aliases"]}
    assert all(r["source"] and r["year"] for r in rows)


def test_models_search_by_text_or_by_a_name_that_matches(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--search", "wan2.2", "--json"]) == 0
    ids = {r["id"] for r in json.loads(capsys.readouterr().out)}
    assert "Wan-AI/Wan2.2-T2V-A14B-Diffusers" in ids
    assert main(["models", "--search", "openai/gpt-4o-2024-08-06", "--json"]) == 0
    ids = {r["id"] for r in json.loads(capsys.readouterr().out)}
    assert ids == {"openai/gpt-4o"}
    assert main(["models", "--search", "no-such-model-anywhere"]) == 0
    assert "no model matches" in capsys.readouterr().out


def test_models_aliases_lists_moving_names_with_their_date(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--aliases"]) == 0
    out = capsys.readouterr().out
    assert "chat-latest" in out and "openai/gpt-5.5" in out and "2026-11" in out
    assert main(["models", "--aliases", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["gemini-flash-latest"]["model"] == "google/gemini-3.8-flash"
    assert all(r["source"] and r["as_of"] for r in rows.values())


def test_models_bad_modality_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["models", "--modality", "smell"])
    assert exc.value.code == 2
    assert "--modality" in capsys.readouterr().err


def test_zones_table_and_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zones"]) == 0
    out = capsys.readouterr().out
    assert "WORLD" in out and "aws:us-east-1" in out and "gCO2e/kWh" in out
    assert main(["zones", "--kind", "country", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) >= 50 and {r["kind"] for r in rows} == {"country"}
    assert all(r["source"] and r["year"] and r["basis"] for r in rows)
    assert main(["zones", "--kind", "cloud-region", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) >= 40


def test_zones_bad_kind_exits_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["zones", "--kind", "planet"])
    assert exc.value.code == 2


def test_zones_cite_each_source_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zones"]) == 0
    sources = [line for line in capsys.readouterr().out.splitlines()
               if line.startswith("source  ")]
    assert len(sources) == len(set(sources)) == 3  # OWID/Ember, Google Cloud, Ember world
    assert any("codecarbon" in s for s in sources)
    assert main(["zones", "--kind", "country", "--json"]) == 0
    assert all(r["version"] for r in json.loads(capsys.readouterr().out))
