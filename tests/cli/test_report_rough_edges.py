"""Issue 20 rough edges 3 and 10: `wattmeter report` after `wattmeter demo` finds the demo's
ledger; the report's equivalents keep one unit; small amounts are not "0.00"; --disclosure
prints no scientific notation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from report_ledgers import write

from wattmeter.cli import main
from wattmeter.cli._demo import DEMO_LEDGER

TINY = (("big", "openai", "gpt-4o", 4000, 2000, 400, 3),
        ("tiny", "openai", "text-embedding-3-small", 20, 0, 1, 2))


def test_report_and_budgets_read_the_demo_ledger(capsys: pytest.CaptureFixture[str]) -> None:
    write(Path(DEMO_LEDGER))  # in the test's own directory, as the demo leaves it
    assert main(["report"]) == 0
    out, err = capsys.readouterr()
    assert "search" in out and f"reading the demo's {DEMO_LEDGER}" in err
    assert main(["budgets"]) == 0
    assert "search-daily" in capsys.readouterr().out


def test_configured_budgets_do_not_read_the_demo_ledger(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """With budgets of its own and no ledger yet, `wattmeter budgets` took its "used" from
    a leftover demo ledger."""
    write(Path(DEMO_LEDGER))
    monkeypatch.setenv("WATTMETER_BUDGETS",
                       '[{"name": "search-mine", "team": "search", "limit": "50 Wh"}]')
    assert main(["budgets", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "demo" not in err
    (row,) = json.loads(out)
    assert row["name"] == "search-mine" and row["used"] == 0


def test_the_hint_names_the_demo_ledger(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report"]) == 1
    assert f"--ledger {DEMO_LEDGER}" in capsys.readouterr().err


def test_table_keeps_one_equivalent_unit_and_no_zero_amounts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = write(tmp_path / "l.db", TINY)
    assert main(["report", "--ledger", str(ledger), "--by", "team"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    units = {re.sub(r"^.*\d ", "", line) for line in lines}
    assert len(units) == 1, units
    tiny = next(line for line in lines if line.startswith("tiny"))
    assert "0.00 " not in tiny + " " and not re.search(r"\s0\s", tiny)


def test_disclosure_has_no_scientific_notation(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    ledger = write(tmp_path / "l.db", TINY)
    assert main(["report", "--ledger", str(ledger), "--disclosure"]) == 0
    out = capsys.readouterr().out
    assert not re.search(r"\d[eE][+-]?\d", out), out


def test_demo_table_keeps_one_equivalent_unit(capsys: pytest.CaptureFixture[str]) -> None:
    import wattmeter
    from wattmeter.cli import _demo

    big = wattmeter.estimate("gpt-4o", "openai", input_tokens=4000, output_tokens=2000)
    tiny = wattmeter.estimate("text-embedding-3-small", "openai", input_tokens=20)
    _demo._table({"big": [big] * 400, "tiny": [tiny]}, ["big", "tiny"])
    lines = capsys.readouterr().out.strip().splitlines()[1:]
    assert len({re.sub(r"^.*\d ", "", line) for line in lines}) == 1
    assert not any(re.search(r"\b0\.0+\b", line) for line in lines), lines
