"""Issue 12, defect 7: configuration errors raise where the user configures, never on a call.

``configure()``, ``instrument()`` and the CLI raise a `ValueError` naming the option, its
source and the valid form; a bad value met on the call path (env or file read lazily) is
logged once and that option keeps its default, and the call runs.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import pytest

import wattmeter
from wattmeter import Usage, _config
from wattmeter._meter import record
from wattmeter.testing import capture


@pytest.mark.parametrize("options, needle", [
    ({"grid_zone": "XX"}, "grid zone 'XX' is unknown"),
    ({"deployments": {"self-hosted": {"gpu": "H900"}}}, "unknown accelerator 'H900'"),
    ({"deployments": {"self-hosted": {"gpus": -1}}}, "gpus"),
    ({"deployments": {"self-hosted": {"gpu_count": 2}}}, "unknown field"),
    ({"deployments": {"self-hosted": "H100"}}, "table of deployment fields"),
    ({"pue": math.inf}, "finite number from 1 to 5"),
    ({"pue": 50}, "finite number from 1 to 5"),
    ({"grid_intensity": math.nan}, "finite number"),
    ({"ledger_flush_s": math.inf}, "finite number"),
    ({"ledger_flush_s": math.nan}, "finite number"),
    ({"metrics_port": 99999}, "from 0 to 65535"),
    ({"metrics_port": -1}, "from 0 to 65535"),
    ({"max_label_values": 0}, "whole number"),
    ({"webhook_url": "file:///etc/passwd"}, "http:// or https:// URL"),
    ({"webhook_url": "gopher://example.com/"}, "http:// or https:// URL"),
    ({"electricity_maps_url": "file:///tmp/x"}, "http:// or https:// URL"),
    ({"prometheus_url": "localhost:9090"}, "http:// or https:// URL"),
    ({"requests_base_urls": ["ftp://x"]}, "http:// or https:// URL"),
    ({"metric_labels": ["bad label"]}, "label names"),
    ({"default_team": "x" * 500}, "at most 200 characters"),
    ({"provider_hosts": {"llm.internal": 3}}, "provider names"),
])
def test_configure_rejects_with_option_source_and_form(options: dict[str, Any],
                                                       needle: str) -> None:
    with pytest.raises(ValueError) as info:
        wattmeter.configure(**options)
    message = str(info.value)
    name = next(iter(options))
    assert repr(name) in message and needle in message and "configure()" in message


def test_valid_deployments_are_kept_in_canonical_form() -> None:
    cfg = wattmeter.configure(deployments={"self-hosted": {"gpu": "h100", "gpus": 2}})
    assert cfg.deployments == {"self-hosted": {"gpu": "H100", "gpus": 2}}


def test_bad_env_pue_does_not_make_metered_functions_raise(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("WATTMETER_PUE", "abc")
    _config.reset()

    @wattmeter.meter(model="meta-llama/Llama-3.1-8B-Instruct")
    def generate(prompt: str) -> dict[str, int]:
        return {"input_tokens": 5, "output_tokens": 3}

    with caplog.at_level(logging.ERROR, logger="wattmeter"), capture() as fps:
        for _ in range(3):
            assert generate("hi") == {"input_tokens": 5, "output_tokens": 3}
    assert len(fps) == 3 and fps[0].pue > 1  # metered with the provider's own PUE
    errors = [r for r in caplog.records if "WATTMETER_PUE" in r.getMessage()]
    assert len(errors) == 1  # logged once, not per call
    with pytest.raises(ValueError, match=r"'pue'.*env WATTMETER_PUE"):
        wattmeter.instrument("openai")  # where the user configures, it raises


def test_typo_in_env_variable_gets_did_you_mean(monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("WATTMETER_DEFAULT_TEMA", "search")
    with caplog.at_level(logging.WARNING, logger="wattmeter"):
        wattmeter.configure()
        wattmeter.configure()
    hits = [r.getMessage() for r in caplog.records if "WATTMETER_DEFAULT_TEMA" in r.getMessage()]
    assert len(hits) == 1 and "WATTMETER_DEFAULT_TEAM" in hits[0]


def _assert_call_path_lenient() -> None:
    """After the start-up error, a metered call still goes through (bad values are defaults)."""
    _config.reset()
    with capture() as fps:
        record(Usage("openai", "gpt-4o", input_tokens=3, output_tokens=2))
    assert len(fps) == 1


def test_malformed_pyproject_section_fails_at_start_not_on_the_first_call() -> None:
    Path("pyproject.toml").write_text("[tool.wattmeter]\npue = \"high\"\n")
    with pytest.raises(ValueError, match=r"'pue'.*pyproject\.toml"):
        wattmeter.configure()
    with pytest.raises(ValueError, match=r"'pue'.*pyproject\.toml"):
        wattmeter.instrument()
    _assert_call_path_lenient()


def test_tool_wattmeter_not_a_table_is_a_clear_error() -> None:
    Path("pyproject.toml").write_text("[tool]\nwattmeter = 5\n")
    with pytest.raises(ValueError, match=r"pyproject\.toml: tool\.wattmeter = 5; expected a table"):
        _config.check()
    _assert_call_path_lenient()


@pytest.mark.parametrize("text", ['[{"team": "a"}]', "not json", '{"team": 5, "limit": []}',
                                  '[{"team": "a", "limit": "5 kWh", "period": "fortnight"}]'])
def test_bad_budgets_env_fails_at_start_not_on_the_first_call(
        monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("WATTMETER_BUDGETS", text)
    with pytest.raises(ValueError, match=r"WATTMETER_BUDGETS"):
        wattmeter.configure()
    with pytest.raises(ValueError, match=r"WATTMETER_BUDGETS"):
        wattmeter.instrument()
    _assert_call_path_lenient()


def test_cli_names_the_bad_env_variable(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from wattmeter.cli import main

    monkeypatch.setenv("WATTMETER_GRID_INTENSITY", "nan")
    assert main(["estimate", "gpt-4o"]) == 2
    err = capsys.readouterr().err
    assert "grid_intensity" in err and "WATTMETER_GRID_INTENSITY" in err
    assert "Traceback" not in err
