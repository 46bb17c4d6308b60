"""The ``wattmeter`` command itself: help lists every subcommand, version, no command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wattmeter.cli import COMMANDS, main


def test_help_lists_every_subcommand() -> None:
    out = subprocess.run([sys.executable, "-m", "wattmeter", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for name in COMMANDS:
        assert name in out.stdout


@pytest.mark.parametrize("name", COMMANDS)
def test_each_subcommand_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([name, "--help"])
    assert info.value.code == 0
    assert "usage: wattmeter " + name in capsys.readouterr().out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "COMMAND" in capsys.readouterr().out
