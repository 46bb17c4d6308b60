"""Every example runs with no API key against the simulator and prints what it promises.

Most scripts run in this process exactly as ``python examples/x.py`` would (``runpy`` with
``__name__ == "__main__"`` and ``examples/`` on the import path, for their shared
``_simulator`` helper), which reuses the already imported provider SDKs and keeps
the file fast. Two need a process of their own and run as real subprocesses, started
when the module starts so they overlap the others: the OpenTelemetry one (it installs
the global tracer provider) and the multiprocess one (``PROMETHEUS_MULTIPROC_DIR`` must
be set before ``prometheus_client`` is imported). The FastAPI service is driven with
fastapi's TestClient.
"""

from __future__ import annotations

import importlib.util
import os
import re
import runpy
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from wattmeter.testing import capture

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
IN_PROCESS = ("openai_quickstart", "anthropic_streaming", "self_hosted_meter",
              "budgets_enforced")
SUBPROCESS = {"opentelemetry_spans": ["--console"], "multiprocess_workers": [],
              "self_hosted_measured": []}
TIMEOUT_S = 120
FLOAT = r"([0-9.]+(?:e-?\d+)?)"


@pytest.fixture(scope="module", autouse=True)
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Start the subprocess examples at once, in a scratch directory, strict errors on."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("WATTMETER_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(WATTMETER_STRICT="1", PYTHONUNBUFFERED="1")
    cwd = tmp_path_factory.mktemp("examples")
    # each in its own process group, so what an example starts (a Prometheus) goes with it
    procs = {name: subprocess.Popen([sys.executable, str(EXAMPLES / f"{name}.py"), *args],
                                    cwd=cwd, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, start_new_session=True)
             for name, args in SUBPROCESS.items()}
    try:
        yield procs
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                _interrupt(proc)
            proc.communicate()
    assert not list(cwd.iterdir()), "examples must not leave files behind"


def _interrupt(proc: subprocess.Popen[str]) -> None:
    """Stop an example a filtered run (`-k`) never waited for, and its children: SIGINT lets
    its `with` blocks stop its Prometheus and remove its files; SIGKILL after 10 s. A plain
    kill orphaned the example's Prometheus servers, which kept running after pytest."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_subprocess(scripts: dict[str, Any], name: str) -> str:
    """Wait for one subprocess example; its stdout (it must exit 0)."""
    proc = scripts[name]
    out, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{err}"
    return str(out)


def run_in_process(name: str, capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Run one example as ``__main__`` here; its stdout. It must leave no files behind."""
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / f"{name}.py")])
    monkeypatch.syspath_prepend(str(EXAMPLES))  # as python puts a script's directory first
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    assert not list(tmp_path.iterdir()), "examples must not leave files behind"
    return capsys.readouterr().out


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> Any:
    """``run(name)``: run an in-process example and return what it printed."""
    return lambda name: run_in_process(name, capsys, monkeypatch, tmp_path)


def _floats(pattern: str, text: str) -> list[float]:
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not in:\n{text}"
    return [float(g) for g in m.groups()]


def test_openai_quickstart(run: Any) -> None:
    out = run("openai_quickstart")
    assert ("team=search labels={'feature': 'autocomplete'} provider=openai "
            "model=gpt-4o-mini") in out
    assert re.search(r"tokens: \d+ in, 40 out", out)
    energy, low, high = _floats(rf"energy: {FLOAT} Wh \(90% interval {FLOAT}-{FLOAT} Wh", out)
    assert 0 < low <= energy <= high
    (co2e,) = _floats(rf"co2e: {FLOAT} g at", out)
    assert co2e > 0 and "(grid zone FR, estimated)" in out
    assert "Suggest three search queries" not in out  # no prompt text anywhere


def test_anthropic_streaming(run: Any) -> None:
    out = run("anthropic_streaming")
    assert re.search(r"events: message_start \.\.\. message_stop \(\d+ in all\)", out)
    lines = [x for x in out.splitlines() if x.startswith("team=")]
    assert len(lines) == 2, out
    assert re.match(r"team=support feature=ticket-reply model=claude-haiku-4-5 tokens=\d+\+60 ",
                    lines[0])
    assert re.match(r"team=research feature=summaries model=claude-haiku-4-5 tokens=\d+\+30 ",
                    lines[1])
    for line in lines:
        assert _floats(rf"energy={FLOAT} Wh co2e={FLOAT} g", line)[0] > 0


def test_self_hosted_meter(run: Any) -> None:
    out = run("self_hosted_meter")
    assert "streamed 200 words" in out
    blocking, streamed = (re.search(rf"^{kind}: (.*)$", out, re.M) for kind in
                          ("generate", "generate_stream"))
    assert blocking and streamed, out
    # Same prompt and length: the stream's usage (from its last chunk) equals the call's.
    assert blocking.group(1) == streamed.group(1)
    assert ("team=platform provider=self-hosted model=meta-llama/Llama-3.1-8B-Instruct "
            "tokens=90+200") in blocking.group(1)
    assert blocking.group(1).endswith("zone=FR")
    (l4,) = _floats(rf"estimate on L4 x1, batch 8, FR: {FLOAT} Wh", out)
    (h100,) = _floats(rf"estimate on H100 x1, batch 64, US: {FLOAT} Wh", out)
    assert 0 < h100 < l4  # a bigger batch on a faster GPU spends less per request


def test_budgets_enforced(run: Any) -> None:
    out = run("budgets_enforced")
    sent, calls = (int(x) for x in _floats(
        r"refused before sending: (\d+) requests sent for (\d+) calls", out))
    assert calls == sent + 1 and sent >= 2  # the refused call never reached the server
    assert re.search(rf"call {calls}: refused: wattmeter budget 'search/day/energy' of team "
                     r"'search' is spent: .*the call was not sent", out)
    for pct in ("50%", "80%", "100%"):  # delivered by the time the ledger is closed
        assert f"callback: budget 'search/day/energy' crossed {pct}" in out
    assert "team ads: call sent" in out
    (ratio,) = _floats(r"status: search/day/energy used .* \((\d+)%, day\)", out)
    assert ratio >= 100


def test_opentelemetry_spans(scripts: dict[str, Any]) -> None:
    out = run_subprocess(scripts, "opentelemetry_spans")
    assert "span 'chat gpt-4o' (parent: handle-request)" in out
    for line in ("gen_ai.provider.name = 'openai'", "gen_ai.operation.name = 'chat'",
                 "gen_ai.request.model = 'gpt-4o'", "gen_ai.usage.output_tokens = 30",
                 "wattmeter.team = 'search'", "wattmeter.label.feature = 'rerank'",
                 "wattmeter.grid.zone = 'DE'", "wattmeter.method = 'estimated'"):
        assert f"  {line}\n" in out, line
    low, energy, high = (
        _floats(rf"  wattmeter\.energy_wh{suffix} = {FLOAT}\n", out)[0]
        for suffix in (r"\.low", "", r"\.high"))
    assert 0 < low <= energy <= high
    assert '"name": "chat gpt-4o"' in out  # the --console exporter printed the span too
    assert "Rerank these five documents" not in out  # prompts never go on spans


def test_multiprocess_workers(scripts: dict[str, Any]) -> None:
    out = run_subprocess(scripts, "multiprocess_workers")
    assert "workers reported" in out and "in 9 calls" in out
    assert "wattmeter_requests_total{team='ads'} = 2\n" in out
    assert "wattmeter_requests_total{team='search'} = 7\n" in out
    assert "sum matches the workers: True" in out


def test_self_hosted_measured(scripts: dict[str, Any]) -> None:
    out = run_subprocess(scripts, "self_hosted_measured")
    assert "real Prometheus" in out or "scraping the DCGM exporter directly" in out
    rows = {m.group(1): [float(x) for x in m.groups()[2:]] for m in re.finditer(
        rf"^(search|chat) +(\d+) +{FLOAT} +{FLOAT} +{FLOAT}$", out, re.M)}
    assert set(rows) == {"search", "chat"}, out
    for estimated, calibrated, measured in rows.values():
        assert estimated > 0 and calibrated > 0 and measured > 0
    assert re.search(rf"^idle .* {FLOAT}  \(deployment llama-8b\)$", out, re.M)
    last = out.strip().splitlines()[-1]
    m = re.fullmatch(rf"attributed {FLOAT} Wh of {FLOAT} Wh measured \({FLOAT}%\)", last)
    assert m, last
    attributed, total, pct = (float(x) for x in m.groups())
    assert 0 < attributed <= total and pct == pytest.approx(100 * attributed / total, abs=0.1)


def _load(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(EXAMPLES))  # as uvicorn's --app-dir examples does
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fastapi_service_attributes_each_request_to_its_team(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    service: Any = _load("fastapi_service", monkeypatch)
    with TestClient(service.app) as client, capture() as footprints:
        for team in ("search", "ads", "Search", "intruder", None):
            headers = {"X-Team": team} if team else {}
            r = client.post("/summarize", json={"text": "a private note"}, headers=headers)
            assert r.status_code == 200 and r.json()["summary"]
        metrics = client.get("/metrics").text
    assert [(fp.team, dict(fp.labels), fp.provider, fp.model) for fp in footprints] == [
        (team, {"feature": "summarize"}, "openai", "gpt-4o-mini")
        for team in ("search", "ads", "search", "unattributed", "unattributed")]
    assert re.search(r'wattmeter_requests_total\{[^}]*team="unattributed"[^}]*\} [2-9]', metrics)
    assert "private note" not in metrics


def test_every_example_is_documented_and_listed() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
    assert scripts == sorted(f"{name}.py" for name in [*IN_PROCESS, *SUBPROCESS, "fastapi_service"])
    for script in scripts:
        text = (EXAMPLES / script).read_text()
        assert text.startswith('"""') and f"python examples/{script}" in text  # how to run it
        assert "def main(" in text and 'if __name__ == "__main__":' in text
        assert f"`{script}`" in readme, f"{script} missing from examples/README.md"
    for helper in EXAMPLES.glob("_*.py"):  # shared by the scripts, not examples themselves
        text = helper.read_text()
        assert text.startswith('"""') and "def main(" not in text, helper.name
