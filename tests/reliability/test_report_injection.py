"""Issue 23 item 3: names that came from outside (team, model, labels) can't drive the reader's
terminal, run as spreadsheet formulas, or become markup, wherever wattmeter prints them."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

import wattmeter
from wattmeter._safe_text import for_csv, for_html, for_terminal
from wattmeter._version import METHOD_VERSION
from wattmeter.budget import Ledger
from wattmeter.cli import main

#: Hostile names: OSC 52 clipboard write, OSC 8 hyperlink, window title, CSI, BEL,
#: backspace, NUL, a bare CR, C1 CSI, and a right-to-left override.
TERMINAL_ATTACKS = (
    "a\x1b]52;c;ZWNobyBwd25lZA==\x07b",
    "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "\x1b]0;owned\x07title",
    "red\x1b[31mtext\x1b[0m",
    "bell\x07back\x08\x08nul\x00",
    "over\rwrite",
    "c1\x9b31m",
    "admin\u202etxt.exe",
)
_BAD = ("\x1b", "\x07", "\x08", "\x00", "\r", "\x9b", "\u202e", "]52;", "]8;")
#: Cells a spreadsheet would run (OWASP CSV injection).
FORMULAS = ('=HYPERLINK("https://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)",
            "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1")


def _ledger(path: Path, teams: tuple[str, ...]) -> Path:
    ledger = Ledger(path)
    now = int(time.time() // 60 * 60)
    fp = wattmeter.estimate("gpt-4o", "openai", input_tokens=100, output_tokens=50)
    for team in teams:
        ledger.add((now, team, "openai", team[:40], "chat", {"feature": team}, fp.energy_wh,
                    fp.co2e_g, fp.accelerator_wh, 1, 100, 50, fp.co2e_g_low, fp.co2e_g_high,
                    fp.co2e_embodied_g, fp.co2e_embodied_g_low, fp.co2e_embodied_g_high,
                    fp.water_ml, fp.water_ml_low, fp.water_ml_high, fp.adpe_kgsbeq,
                    fp.grid_zone, METHOD_VERSION))
    ledger.save_budgets([{"name": t, "team": t, "limit": "1 kWh", "period": "day"}
                         for t in teams])
    ledger.flush()
    ledger.close()
    return path


@pytest.mark.parametrize("name", TERMINAL_ATTACKS)
def test_for_terminal_strips_escapes_controls_and_bidi(name: str) -> None:
    out = for_terminal(name)
    assert not any(b in out for b in _BAD), repr(out)
    assert out.isprintable()


def test_for_terminal_keeps_ordinary_names() -> None:
    for name in ("search", "équipe-données", "検索", "team a/b (v2)", "gpt-4o-mini"):
        assert for_terminal(name) == name


@pytest.mark.parametrize("cell", FORMULAS)
def test_for_csv_neutralises_formula_cells(cell: str) -> None:
    assert for_csv(cell).startswith("'")


def test_for_csv_keeps_numbers_and_plain_text() -> None:
    assert for_csv(-2.5) == -2.5 and for_csv(3) == 3 and for_csv("search") == "search"


def test_for_html_escapes_markup() -> None:
    assert for_html('<script>alert("x")</script>&') == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;")


@pytest.mark.parametrize("args", [["report", "--by", "team,model,label:feature"],
                                  ["report", "--disclosure"], ["budgets"]])
def test_terminal_output_carries_no_control_characters(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    path = _ledger(tmp_path / "l.db", TERMINAL_ATTACKS)
    assert main([*args, "--ledger", str(path)]) == 0
    out = capsys.readouterr().out
    assert not any(b in out for b in _BAD), repr(out)
    assert "ZWNobyBwd25lZA" not in out  # the OSC 52 payload is removed with its sequence


def test_csv_cells_are_no_formulas_and_cr_is_quoted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _ledger(tmp_path / "l.db", FORMULAS)
    assert main(["report", "--ledger", str(path), "--by", "team,model,label:feature",
                 "--format", "csv"]) == 0
    text = capsys.readouterr().out
    rows = list(csv.reader(io.StringIO(text, newline="")))
    cells = [c for r in rows[1:] for c in r[:3]]
    assert len(cells) == 3 * len(FORMULAS)
    for c in cells:
        assert not c.startswith(("=", "+", "-", "@", "\t", "\r")), repr(c)
    assert '"\'\r=1+1"' in text  # a cell with a CR is quoted, not left bare
    assert all(r[0] != "" for r in rows)  # no row broken in two by a bare CR


@pytest.mark.parametrize("export", [False, True])
def test_csv_on_a_terminal_carries_no_escape_sequences(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        export: bool) -> None:
    """CSV is data for a file, but printed to a terminal its cells could drive it: there
    the escapes and controls go (line breaks stay); a file gets the names as recorded."""
    import sys

    path = _ledger(tmp_path / "l.db", TERMINAL_ATTACKS)
    args = ["report", "--ledger", str(path), "--format", "csv"]
    args += ["--export", "csrd"] if export else ["--by", "team,model,label:feature"]
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert not any(b in out for b in _BAD if b != "\r"), repr(out)
    assert "\r" not in out.replace("\r\n", ""), repr(out)  # no bare CR left
    assert "ZWNobyBwd25lZA" not in out
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert main(args) == 0
    assert "\x1b]52;" in capsys.readouterr().out  # to a file: as recorded


def test_export_csv_is_safe_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _ledger(tmp_path / "l.db", FORMULAS)
    assert main(["report", "--ledger", str(path), "--export", "csrd", "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out, newline="")))
    assert len(rows) == 1 + len(FORMULAS)
    assert all(r[0].startswith("'") for r in rows[1:])


def test_json_keeps_names_as_given(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _ledger(tmp_path / "l.db", FORMULAS)
    assert main(["report", "--ledger", str(path), "--by", "team", "--format", "json"]) == 0
    assert {r["team"] for r in json.loads(capsys.readouterr().out)} == set(FORMULAS)


def test_html_report_escapes_every_name(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the HTML report's charts need matplotlib")
    names = ('<script>alert(1)</script>', '"><img src=x onerror=alert(1)>',
             "</title><svg onload=alert(1)>", "a$b", "$\\frac{$", *TERMINAL_ATTACKS[:2])
    path = _ledger(tmp_path / "l.db", names)
    out = tmp_path / "r.html"
    assert main(["report", "--ledger", str(path), "--html", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    for bad in ("<script", "<img", "<svg onload", "\x1b", "\x07"):
        assert bad not in text, bad
    assert "&lt;script&gt;" in text


def test_error_messages_quoting_names_carry_no_control_characters(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`report --team X` for a period without X lists the ledger's teams in its error:
    they reached stderr raw."""
    path = _ledger(tmp_path / "l.db", TERMINAL_ATTACKS)
    assert main(["report", "--ledger", str(path), "--html", str(tmp_path / "r.html"),
                 "--team", "\x1b]0;nobody\x07"]) == 2
    err = capsys.readouterr().err
    assert "error" in err and not any(b in err for b in _BAD), repr(err)
