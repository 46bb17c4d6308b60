"""``wattmeter budgets``: status from the ledger or Prometheus, as a table or JSON."""

from __future__ import annotations

import json
import socket
import time

import pytest

from wattmeter import _config
from wattmeter.budget import Ledger
from wattmeter.cli import main

TOML = """
ledger_path = "team-ledger.sqlite3"
[[budgets]]
team = "search"
limit = "2 kWh"
period = "month"
[[budgets]]
team = "ads"
limit = "20 kgCO2e"
period = "7d"
actions = ["log", "raise"]
"""


def _setup(tmp_path) -> None:
    (tmp_path / "wattmeter.toml").write_text(TOML)
    _config.reset()
    ledger = Ledger(tmp_path / "team-ledger.sqlite3")
    now = int(time.time() // 60 * 60)
    ledger.add((now, "search", "openai", "gpt-4o", "chat", "{}", 500.0, 200.0, 300.0, 4, 9, 9))
    ledger.add((now, "ads", "openai", "gpt-4o", "chat", "{}", 10.0, 5000.0, 5.0, 1, 9, 9))
    ledger.flush()


def test_json_status(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    _setup(tmp_path)
    assert main(["budgets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    search, ads = rows
    assert (search["team"], search["used"], search["ratio"], search["unit"]) == (
        "search", 500.0, 0.25, "Wh")
    assert search["forecast"] >= 500.0 and search["period_end_iso"]
    assert (ads["used"], ads["unit"], ads["period_end"]) == (5000.0, "gCO2e", None)


def test_table(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    _setup(tmp_path)
    assert main(["budgets", "--ledger", str(tmp_path / "team-ledger.sqlite3")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:5] == ["BUDGET", "TEAM", "USED", "LIMIT", "USED"]
    assert "search/month/energy" in out and "25.0%" in out and "500 Wh" in out
    assert "5 kgCO2e" in out and "(rolling)" in out


def test_unreachable_prometheus_falls_back(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    _setup(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["budgets", "--json", "--prometheus", f"http://127.0.0.1:{port}"]) == 0
    captured = capsys.readouterr()
    assert "falling back to the local ledger" in captured.err
    assert [r["used"] for r in json.loads(captured.out)] == [500.0, 5000.0]
    assert all(r["verified"] is False for r in json.loads(captured.out))


def test_no_budgets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budgets"]) == 1
    assert "No budgets configured" in capsys.readouterr().err
