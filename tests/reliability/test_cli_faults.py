"""Issue 12, defect 10: the CLI answers bad input with one clear line and a non-zero exit.

Run as the user does, ``python -m wattmeter ...`` in a subprocess, so a traceback or a
wrong exit status is seen as the user would see it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import wattmeter as wm

SRC = str(Path(wm.__file__).resolve().parents[1])  # the copy under test, whichever it is
README = str(Path(__file__).resolve().parents[2] / "README.md")


def wattmeter(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTMETER_")}
    env["PYTHONPATH"] = SRC
    return subprocess.run([sys.executable, "-m", "wattmeter", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("command", ["report", "budgets"])
def test_a_file_that_is_no_ledger_is_one_line_exit_2(command: str) -> None:
    out = wattmeter(command, "--ledger", README)
    assert out.returncode == 2, out
    assert "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1 and "README.md" in out.stderr
    assert "not a database" in out.stderr


def test_demo_with_an_unwritable_ledger_fails_clearly(tmp_path: Path) -> None:
    # a missing folder is made, as the library does (issue 20); a file in its way is not
    (tmp_path / "no").write_text("a file, not a folder")
    out = wattmeter("demo", "--quiet", "--ledger", str(tmp_path / "no" / "such" / "l.sqlite3"))
    assert out.returncode != 0, out
    assert "Traceback" not in out.stderr and "--ledger" in out.stderr
    assert out.stderr.count("\n") == 1


def test_estimate_uses_the_models_modality_by_default() -> None:
    out = wattmeter("estimate", "black-forest-labs/FLUX.1-dev", "--json")
    assert out.returncode == 0, out
    fp = json.loads(out.stdout)
    assert fp["operation"] == "image" and fp["energy_wh"] > 0.1
    assert not any("registered for image" in w for w in fp["warnings"])


def test_estimate_api_uses_the_models_modality_when_operation_is_omitted() -> None:
    assert wm.estimate("black-forest-labs/FLUX.1-dev").operation == "image"
    assert wm.estimate("gpt-4o", input_tokens=10).operation == "chat"
    assert wm.estimate("some-unknown-model-7b").operation == "chat"
    assert (wm.estimate("black-forest-labs/FLUX.1-dev").energy_wh
            == wm.estimate("black-forest-labs/FLUX.1-dev", operation="image").energy_wh)


def test_estimate_unknown_provider_names_the_known_ones() -> None:
    out = wattmeter("estimate", "gpt-4o", "--provider", "nosuchprov")
    assert out.returncode == 2, out
    assert "Traceback" not in out.stderr
    assert "nosuchprov" in out.stderr and "openai" in out.stderr and "anthropic" in out.stderr


def test_estimate_table_rows_are_aligned() -> None:
    out = wattmeter("estimate", "gpt-4o", "--input-tokens", "100", "--output-tokens", "300")
    assert out.returncode == 0, out
    lines = out.stdout.splitlines()
    header = next(line for line in lines if "central" in line)
    rows = [line for line in lines if line.split(" ")[0] in ("accelerator", "server",
                                                              "facility", "CO2e", "water",
                                                              "ADPe")]
    assert len(rows) == 9  # CO2e: usage, usage market-based, embodied, total
    ends = {len(line) for line in [header, *rows]}
    assert len(ends) == 1, [header, *rows]  # every column right-aligned to one edge


def test_demo_exits_non_zero_when_metering_failed(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from wattmeter import _guard
    from wattmeter.cli import _demo, main

    real = _demo._table

    def table_after_a_failure(*args: object) -> None:  # as a ledger that can't be written
        _guard.count_error("budget.ledger")
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_demo, "_table", table_after_a_failure)
    code = main(["demo", "--quiet", "--rounds", "1", "--port", "0",  # 9464 may be a
                 "--ledger", str(tmp_path / "d.sqlite3")])  # parallel worker's: its own count
    assert code == 1
    assert "1 metering error(s)" in capsys.readouterr().err
