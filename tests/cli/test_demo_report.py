"""``wattmeter demo`` end to end (simulator, real clients, budgets, ledger) and ``report``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wattmeter.cli import main


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("demo") / "ledger.sqlite3"
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["demo", "--rounds", "2", "--duration", "0", "--port", "0",
                     "--ledger", str(path)]) == 0
    return path, out.getvalue()


def test_demo_runs_every_team_and_crosses_a_warning(demo_run: tuple[Path, str]) -> None:
    path, out = demo_run
    assert path.exists()
    for team in ("search", "support", "research", "creative"):
        assert f"\n{team}" in out
    assert "team 'research' crossed 80%" in out
    assert "team 'search' crossed" not in out
    assert "/metrics at http://127.0.0.1:" in out
    assert "smartphone charges" in out


def test_budgets_and_report_read_the_demo_ledger(
        demo_run: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = demo_run
    assert main(["budgets", "--ledger", str(path), "--json"]) == 0
    status = {b["team"]: b for b in json.loads(capsys.readouterr().out)}
    assert set(status) == {"search", "support", "research", "creative"}
    assert 0.8 <= status["research"]["ratio"] < 1.0
    assert main(["report", "--ledger", str(path), "--format", "json", "--by", "team"]) == 0
    rows = {r["team"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["research"]["calls"] == 4 and rows["creative"]["energy_wh"] > 100
    assert main(["report", "--ledger", str(path), "--by", "model", "--format", "csv",
                 "--team", "support"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("model,calls,energy_wh")
    assert any(line.startswith("claude-haiku-4-5,2,") for line in lines)
    assert main(["report", "--ledger", str(path)]) == 0
    assert "TOTAL" in capsys.readouterr().out


def test_report_errors_name_the_option(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--ledger", str(tmp_path / "none.sqlite3")]) == 2
    assert "--ledger: no ledger at" in capsys.readouterr().err
    html = str(tmp_path / "r.html")
    assert main(["report", "--ledger", str(tmp_path / "none.sqlite3"), "--html", html]) == 2
    assert "--ledger: no ledger at" in capsys.readouterr().err
    assert main(["report", "--by", "colour", "--ledger", "x"]) == 2
    assert "--by: got 'colour'" in capsys.readouterr().err
    assert main(["report", "--since", "yesterday", "--ledger", "x"]) == 2
    assert "--since" in capsys.readouterr().err


def test_demo_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--rounds", "0"]) == 2
    assert "--rounds" in capsys.readouterr().err
    assert main(["demo", "--teams", " , "]) == 2
