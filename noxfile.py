"""The environment matrices beside the main test run, as nox sessions whose venvs uv makes.

``nox -s oldest latest openlit package`` (``.ci/run`` calls it after the README's test
command): the integration tests with every SDK at its declared floor (pinned by
constraints-oldest.txt, fatal) and at its newest release (reported, not fatal unless
WATTMETER_LATEST_STRICT=1), the OpenLIT tests in their pinned environment, and the
package check. Each session imports this clone's ``src/`` (PYTHONPATH), so nothing is
built into the tree; CONTRIBUTING.md lists their times and disk use.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox
import nox.command

ROOT = Path(__file__).resolve().parent
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"  # the interpreter running nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["oldest", "latest", "openlit", "package"]
nox.options.error_on_missing_interpreters = True

#: The integration and provider-fault tests of every instrumented SDK.
SDK_TESTS = ("tests/instrument", "tests/reliability/test_provider_faults.py")
#: What those tests import besides wattmeter and the SDKs.
TEST_DEPS = ("pytest", "pytest-asyncio", "pytest-xdist", "hypothesis", "numpy", "pillow")
#: Instrumented SDKs, as package-index names.
SDKS = ("openai", "anthropic", "google-genai", "mistralai", "cohere", "huggingface_hub",
        "litellm", "boto3", "botocore")
PYTEST = ("pytest", "-p", "no:cacheprovider", "-q", "-p", "no:warnings", "-rfEs")


def _project_deps() -> list[str]:
    """wattmeter's runtime dependencies from pyproject.toml (wattmeter is not installed)."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"])


def _extras(*names: str) -> list[str]:
    """The requirements of some extras of pyproject.toml (nested extras expanded)."""
    try:
        import tomllib
    except ImportError:
        import tomli as tomllib  # type: ignore[no-redef]
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    out: list[str] = []
    for name in names:
        for req in extras[name]:
            if req.startswith("wattmeter["):
                out += _extras(*req[len("wattmeter["):-1].split(","))
            else:
                out.append(req)
    return out


def _env() -> dict[str, str]:
    """This clone's wattmeter under test, internal errors raised."""
    return {"PYTHONPATH": str(ROOT / "src"), "WATTMETER_STRICT": "1"}


def _list(session: nox.Session, *names: str) -> None:
    """Print the installed versions of `names`: what this run tested."""
    session.run("python", "-c", (
        "import importlib.metadata as m, sys\n"
        "for n in sys.argv[1:]:\n"
        "    try: print(f'  {n} {m.version(n)}')\n"
        "    except m.PackageNotFoundError: pass"), *names, silent=False)


@nox.session(python=PYTHON)
def oldest(session: nox.Session) -> None:
    """Every SDK at the floor its extra declares (constraints-oldest.txt): fatal."""
    session.install("-c", "constraints-oldest.txt", *_project_deps(),
                    *_extras("openai", "anthropic", "google-genai", "cohere",
                             "huggingface-hub", "bedrock"), "aiohttp", *TEST_DEPS)
    _list(session, *SDKS)
    session.run(*PYTEST, "-n", "auto", *SDK_TESTS, *session.posargs, env=_env())


@nox.session(python=PYTHON)
def latest(session: nox.Session) -> None:
    """Every SDK at its newest release: a failure is printed, not fatal (a new release
    can't turn a clone red overnight); WATTMETER_LATEST_STRICT=1 makes it fatal."""
    session.install("--upgrade", *_project_deps(), *_extras("all"), *SDKS, *TEST_DEPS)
    _list(session, *SDKS)
    try:
        session.run(*PYTEST, "-n", "auto", *SDK_TESTS, *session.posargs, env=_env())
    except nox.command.CommandFailed:
        if os.environ.get("WATTMETER_LATEST_STRICT") == "1":
            raise
        session.warn("the newest SDK releases FAILED the integration tests above "
                     "(not fatal; WATTMETER_LATEST_STRICT=1 makes it fatal)")


@nox.session(python=PYTHON)
def openlit(session: nox.Session) -> None:
    """OpenLIT 1.45 (openai<3, anthropic<1) in its pinned environment: fatal."""
    session.install("-c", "constraints-openlit.txt", "-r", "requirements-openlit.txt",
                    *_project_deps())
    _list(session, "openlit", "openai", "anthropic")
    session.run(*PYTEST, "tests/export/test_otel_openlit.py", *session.posargs, env=_env())


@nox.session(python=PYTHON)
def package(session: nox.Session) -> None:
    """Build the sdist and wheel, twine-check them, run ``wattmeter demo`` from the wheel
    in a fresh venv (scripts/check-package): fatal."""
    session.install("-c", "constraints.txt", "build", "twine")
    session.run("scripts/check-package", external=True)
