"""The README documents every configuration option and shows the two commands."""

from __future__ import annotations

from pathlib import Path

from wattmeter._config import OPTIONS

ROOT = Path(__file__).resolve().parents[1]


def test_readme_lists_every_option() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in OPTIONS if f"`{name}`" not in readme]
    assert not missing, f"README.md does not document {missing}"


def test_readme_two_commands_and_ci() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "python3 -m wattmeter demo" in readme and "scripts/test" in readme
    assert "exec scripts/test" in (ROOT / ".ci" / "run").read_text()
