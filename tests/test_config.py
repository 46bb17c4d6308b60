"""Configuration: one schema, three sources, a documented precedence, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import wattmeter
from wattmeter import _config


def test_defaults() -> None:
    cfg = _config.current()
    assert cfg.default_team == "default" and cfg.prometheus is True and cfg.spans == "auto"
    assert cfg.origin["pue"] == "default"


def test_precedence_code_over_env_over_file(monkeypatch: pytest.MonkeyPatch) -> None:
    Path("pyproject.toml").write_text(
        '[tool.wattmeter]\npue = 1.4\ndefault_team = "file-team"\ngrid_zone = "FR"\n'
    )
    monkeypatch.setenv("WATTMETER_PUE", "1.3")
    monkeypatch.setenv("WATTMETER_DEFAULT_TEAM", "env-team")
    _config.reset()
    cfg = wattmeter.configure(default_team="code-team")
    assert (cfg.pue, cfg.default_team, cfg.grid_zone) == (1.3, "code-team", "FR")
    assert cfg.origin["pue"] == "env WATTMETER_PUE"
    assert cfg.origin["default_team"] == "code"
    assert cfg.origin["grid_zone"].endswith("pyproject.toml")


def test_wattmeter_toml_top_level(monkeypatch: pytest.MonkeyPatch) -> None:
    Path("wattmeter.toml").write_text('spans = "off"\nrequests_base_urls = ["http://x"]\n')
    _config.reset()
    cfg = _config.current()
    assert cfg.spans == "off" and cfg.requests_base_urls == ("http://x",)


def test_env_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATTMETER_PROMETHEUS", "off")
    monkeypatch.setenv("WATTMETER_MAX_LABEL_VALUES", "50")
    monkeypatch.setenv("WATTMETER_REQUESTS_BASE_URLS", "http://a, http://b")
    _config.reset()
    cfg = _config.current()
    assert cfg.prometheus is False and cfg.max_label_values == 50
    assert cfg.requests_base_urls == ("http://a", "http://b")


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"pue": 0.5}, "'pue': got 0.5; expected a finite number from 1 to 5"),
        ({"pue": "x"}, "'pue'"),
        ({"spans": "sometimes"}, "one of 'auto', 'enrich', 'create', 'off'"),
        ({"prometheus": "maybe"}, "true or false"),
        ({"max_label_values": 0}, "max_label_values"),
        ({"timezone": "Mars/Olympus"}, "IANA time zone"),
        ({"default_team": ""}, "non-empty string"),
        ({"requests_base_urls": [1]}, "list of strings"),
    ],
)
def test_bad_values_name_option_value_and_form(options: dict[str, object], needle: str) -> None:
    with pytest.raises(ValueError, match="wattmeter option") as info:
        wattmeter.configure(**options)
    assert needle in str(info.value)


def test_unknown_option_suggests_the_close_one() -> None:
    with pytest.raises(ValueError, match="Did you mean 'default_team'"):
        wattmeter.configure(default_tem="x")


def test_bad_env_value_fails_at_check_and_configure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATTMETER_PUE", "abc")
    with pytest.raises(ValueError, match=r"'pue'.*env WATTMETER_PUE"):
        _config.check()
    with pytest.raises(ValueError, match=r"'pue'.*env WATTMETER_PUE"):
        wattmeter.configure()
    _config.reset()  # lenient on the call path: logged once, the default kept
    assert _config.current().pue is None


def test_invalid_toml_names_the_file() -> None:
    Path("wattmeter.toml").write_text("pue = = 1\n")
    with pytest.raises(ValueError, match=r"wattmeter\.toml: not valid TOML"):
        _config.check()


def test_secrets_are_masked_in_sources() -> None:
    wattmeter.configure(electricity_maps_token="s3cret")
    assert ("electricity_maps_token", "***", "code") in _config.sources()
