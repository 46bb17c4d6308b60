"""``wattmeter config`` shows effective values and their sources."""

from __future__ import annotations

import json

import pytest

from wattmeter.cli import main


def test_config_table_and_json(monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WATTMETER_PUE", "1.25")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "pue" in out and "env WATTMETER_PUE" in out
    assert main(["config", "--json"]) == 0
    rows = {r["option"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["pue"]["value"] == 1.25


def test_config_bad_env_exits_2(monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WATTMETER_SPANS", "loud")
    assert main(["config"]) == 2
    assert "'spans'" in capsys.readouterr().err
