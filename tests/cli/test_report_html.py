"""``wattmeter report --html``: one self-contained file that renders in a real headless
Chromium, with titled charts and the figures a reader needs; bad input exits 2, no traceback."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from report_ledgers import write

from wattmeter.cli import main

pytest.importorskip("matplotlib", reason="the HTML report's charts need matplotlib "
                                         "(pip install 'wattmeter[report]')")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("html")
    ledger = write(folder / "l.db")
    out = folder / "report.html"
    assert main(["report", "--ledger", str(ledger), "--html", str(out)]) == 0
    return out


def _chromium(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    return subprocess.run([CHROMIUM, *_FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_file_has_no_external_reference(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)""", text, re.I)
    assert "http://" not in text and "https://" not in text
    assert not re.search(r"@import|url\((?!#)", text)  # only references inside the file
    assert "<script" not in text


def test_the_file_holds_titled_charts_and_the_figures(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    svgs = re.findall(r"<svg\b[^>]*>", text)
    assert len(svgs) >= 6
    assert all('role="img"' in s and "aria-label=" in s for s in svgs)
    assert text.count("<title>") >= len(svgs) + 1 and text.count("<desc>") == len(svgs)
    for heading in ("Energy and CO2e over time", "By model", "By provider", "Life cycle",
                    "Location- and market-based CO2e", "Budgets",
                    "What each team could change", "Method and sources"):
        assert heading in text
    assert "gpt-4o" in text and "claude-sonnet-4-5" in text
    assert "not recorded" in text  # market-based CO2e of a ledger without those columns
    assert "@media print" in text
    assert not re.search(r"\d[eE][+-]\d", re.sub(r"<svg.*?</svg>", "", text, flags=re.S))


def test_chromium_renders_a_non_blank_page_with_every_chart(report: Path,
                                                            tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "shot.png"
    run = _chromium([f"--screenshot={shot}", "--window-size=1100,2400", report.as_uri()],
                    tmp_path)
    assert shot.exists(), run.stderr[-2000:]
    image = Image.open(shot).convert("L")
    lo, hi = image.getextrema()
    assert hi - lo > 100  # not blank: dark text and charts on a light page
    dark = sum(image.histogram()[:128])
    assert dark > 0.002 * image.width * image.height
    dom = _chromium(["--dump-dom", report.as_uri()], tmp_path).stdout
    charts = re.findall(r"<svg\b[^>]*>\s*<title>([^<]+)</title>", dom)
    assert len(charts) >= 6
    assert any(t.startswith("Energy per") for t in charts)
    assert any(t.startswith("CO2e by model") for t in charts)
    assert "kg CO2e" in dom or "g CO2e" in dom
    assert "smartphone charges" in dom or "microwave" in dom or "km by car" in dom


def test_one_team_and_a_period(tmp_path: Path) -> None:
    ledger = write(tmp_path / "l.db")
    out = tmp_path / "search.html"
    day = time.strftime("%Y-%m-%d", time.gmtime())
    assert main(["report", "--ledger", str(ledger), "--team", "search", "--period",
                 day[:7], "--html", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "team search" in text and "claude-sonnet-4-5" not in text


def _empty(path: Path) -> Path:
    from wattmeter.budget import Ledger

    ledger = Ledger(path)
    ledger.flush()
    ledger.save_budgets([])
    ledger.close()
    return path


@pytest.mark.parametrize("case", ["empty", "period", "team", "unwritable", "folder",
                                  "no-dir", "not-a-ledger", "bad-period"])
def test_bad_input_exits_2_with_a_clear_message(case: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    ledger = write(tmp_path / "l.db")
    out = str(tmp_path / "r.html")
    args = ["report", "--ledger", str(ledger), "--html", out]
    expect = {"empty": "holds no calls", "period": "no calls in that period",
              "team": "no team 'nobody'", "unwritable": "can't write",
              "folder": "is a folder", "no-dir": "does not exist",
              "not-a-ledger": "not a wattmeter ledger", "bad-period": "--period"}[case]
    if case == "empty":
        args[2] = str(_empty(tmp_path / "empty.db"))
    elif case == "period":
        args += ["--period", "2001-01"]
    elif case == "team":
        args += ["--team", "nobody"]
    elif case == "unwritable":
        if os.geteuid() == 0:
            args[-1] = "/proc/version"  # root writes anywhere else
        else:  # pragma: no cover
            (tmp_path / "ro").mkdir(mode=0o500)
            args[-1] = str(tmp_path / "ro" / "r.html")
    elif case == "folder":
        args[-1] = str(tmp_path)
    elif case == "no-dir":
        args[-1] = str(tmp_path / "missing" / "r.html")
    elif case == "not-a-ledger":
        other = tmp_path / "other.db"
        sqlite3.connect(other).execute("create table t (x)").connection.close()
        args[2] = str(other)
    elif case == "bad-period":
        args += ["--period", "last-tuesday"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert expect in err and "Traceback" not in err


def test_export_bad_input_exits_2_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    ledger = write(tmp_path / "l.db")
    assert main(["report", "--ledger", str(ledger), "--export", "csrd", "--team", "x"]) == 2
    assert "no team 'x'" in capsys.readouterr().err


def test_models_past_the_top_ten_are_pooled_under_a_readable_name(tmp_path: Path) -> None:
    """The pooled rest was labelled from the characters of "other" ("t (o)")."""
    models = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3",
              "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-3.5-turbo", "o1")
    ledger = write(tmp_path / "l.db", [("search", "openai", m, 100, 50, 1, 5) for m in models])
    out = tmp_path / "r.html"
    assert main(["report", "--ledger", str(ledger), "--html", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "3 others" in text
    assert "t (o)" not in text
