"""The README is a front page whose every command, code block and number holds.

Its quickstart runs here as written (against the simulator), its model count is the
registry's, its links lead somewhere, and what it moved to docs/ is still documented
there (every configuration option).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wattmeter._config import OPTIONS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_LINES = 270


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def _python_block(after_heading: str) -> str:
    """The first ```python block of the section whose heading starts with `after_heading`."""
    text = _readme()
    start = text.index(f"\n## {after_heading}")
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match, f"no python block under '## {after_heading}'"
    return match.group(1)


def test_readme_is_a_front_page() -> None:
    lines = _readme().count("\n")
    assert lines <= MAX_LINES, f"README.md has {lines} lines; move detail to docs/"
    assert "## Documentation" in _readme()


def test_two_commands_venv_first_and_ci_runs_the_test_command() -> None:
    text = _readme()
    venv = text.index("python3 -m venv .venv && . .venv/bin/activate")
    demo = text.index("python3 -m pip install -q -e '.[demo]' && python3 -m wattmeter demo")
    test = text.index("\nscripts/test\n")
    assert venv < demo < test
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("scripts/test") < ci.index("nox -s oldest latest openlit package")
    assert "pytest -n auto" in (ROOT / "scripts" / "test").read_text()


def test_test_command_figures_are_measured() -> None:
    """The test command's time and disk use are given, with where they were measured."""
    text = " ".join(_readme().split())
    assert re.search(r"ruff, mypy and pytest \(.*?\) took \d+ min \d+ s", text)
    assert "2-core" in text and "CONTRIBUTING.md" in text


def test_quickstart_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("openai")
    code = _python_block("Quickstart, no key needed")
    exec(compile(code, "README.md quickstart", "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    first, second = out.splitlines()
    # metered as OpenAI's call, not as a loopback server's
    assert first == "openai gpt-4o-mini team=search grid=US", out
    assert re.fullmatch(r"[0-9.]+ Wh \([0-9.]+-[0-9.]+\), [0-9.]+ gCO2e", second), out


def test_model_count_is_the_registry_s() -> None:
    from wattmeter.estimate._registry import all_models

    counts = {int(n) for n in re.findall(r"registry knows (\d+) models", _readme())}
    assert counts == {len(all_models())}, (counts, len(all_models()))


def test_links_lead_somewhere() -> None:
    for doc in (README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "CONTRIBUTING.md"):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text("utf-8")):
            if "://" in target:
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_configuration_doc_lists_every_option() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [name for name in OPTIONS if f"`{name}`" not in doc]
    assert not missing, f"docs/configuration.md does not document {missing}"
