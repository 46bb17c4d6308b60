"""Reports state the serving regime each call was estimated in, and its share of the energy
(issue 17: "the user's choice stated in reports"; docs/regimes.md)."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import wattmeter
from wattmeter.budget import BudgetManager
from wattmeter.cli import main
from wattmeter.report import load
from wattmeter.report._export import REGIMES, export_csv, export_json, regime_shares

UTC = ZoneInfo("UTC")


def _ledger(path: Path) -> Path:
    """Team "app" calls a provider (the fleet regime) and a naive local model."""
    mgr = BudgetManager(None, background=False, budgets=[], ledger_path=str(path),
                        prometheus=False)
    fleet = wattmeter.estimate("gpt-4o", "openai", input_tokens=400, output_tokens=300)
    local = wattmeter.estimate(wattmeter.ModelSpec(8.0), input_tokens=400, output_tokens=300,
                               deployment=wattmeter.Deployment(gpu="A100", regime="naive"))
    for _ in range(3):
        mgr.record(fleet._replace(team="app"))
    mgr.record(local._replace(team="app"))
    mgr.record(fleet._replace(team="web"))
    mgr.close()
    return path


def test_shares_of_energy_per_regime(tmp_path: Path) -> None:
    data = load(str(_ledger(tmp_path / "l.db")), None, time.time() + 60, UTC)
    app = regime_shares(data, "app")
    assert set(app) == {"provider", "naive"} and sum(app.values()) == pytest.approx(1.0, 1e-3)
    assert next(iter(app)) == "naive"  # largest first: one naive call outweighs 3 fleet ones
    assert regime_shares(data, "web") == {"provider": 1.0}


def test_csrd_export_states_the_regimes(tmp_path: Path) -> None:
    data = load(str(_ledger(tmp_path / "l.db")), None, time.time() + 60, UTC)
    doc = json.loads(export_json(data, UTC))
    assert doc["regimes"] == {k: REGIMES[k] for k in ("provider", "naive")}
    by_team = {r["team"]: r for r in doc["records"]}
    assert by_team["web"]["regimes"] == {"provider": 1.0}
    rows = {r["team"]: r for r in csv.DictReader(io.StringIO(export_csv(data, UTC)))}
    assert rows["web"]["regimes"] == "provider 100%"
    assert rows["app"]["regimes"].startswith("naive ") and "; provider " in rows["app"]["regimes"]


def test_older_rows_read_as_unknown(tmp_path: Path) -> None:
    """A row from before the ledger kept the regime (its old layout) is "unknown"."""
    from wattmeter._version import METHOD_VERSION
    from wattmeter.budget import Ledger

    ledger = Ledger(tmp_path / "l.db")
    ledger.add((60, "a", "openai", "gpt-4o", "chat", "{}", 2.0, 1.0, 1.0, 1, 5, 5, 0.5, 2.0,
                0.25, 0.1, 0.9, 3.0, 1.0, 9.0, 1e-9, 0.8, 0.1, 7.0, "DE", METHOD_VERSION))
    ledger.flush()
    data = load(str(tmp_path / "l.db"), None, None, UTC)
    assert regime_shares(data) == {"unknown": 1.0}
    assert "unknown" in json.loads(export_json(data, UTC))["regimes"]


def test_cli_report_states_the_regimes(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    path = _ledger(tmp_path / "l.db")
    assert main(["report", "--ledger", str(path), "--disclosure"]) == 0
    assert "serving regimes  naive, provider; docs/regimes.md" in capsys.readouterr().out
    assert main(["report", "--ledger", str(path), "--by", "team", "--format", "json"]) == 0
    rows = {r["team"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["app"]["regimes"] == ["naive", "provider"]
    pytest.importorskip("matplotlib")
    out = tmp_path / "r.html"
    assert main(["report", "--ledger", str(path), "--html", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "Serving regimes" in html and "naive: " in html and "provider: " in html
