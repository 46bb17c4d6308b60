"""OpenLLMetry and wattmeter both loaded by ``opentelemetry-instrument`` through their entry
points, no setup by hand: one GenAI span per call carries the energy and CO2e.

The command loads instrumentors in the order ``importlib.metadata`` lists their
distributions (``sys.path`` order). Each case puts a copy of the metadata of the
instrumentors that should load first (their entry point, name, version and requirements)
on ``PYTHONPATH``, ahead of site-packages, so wattmeter loads first or last.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import wattmeter

pytest.importorskip("opentelemetry.distro")
pytest.importorskip("opentelemetry.instrumentation.openai")
pytest.importorskip("opentelemetry.instrumentation.anthropic")

GROUP = "opentelemetry_instrumentor"
THEIRS = ("opentelemetry-instrumentation-openai", "opentelemetry-instrumentation-anthropic")

_APP = textwrap.dedent("""
    import json, sys
    from importlib.metadata import entry_points
    import anthropic, openai
    # the order opentelemetry-instrument loaded the instrumentors in (its very lookup)
    eps = entry_points(group="opentelemetry_instrumentor")
    print("ORDER", json.dumps([ep.name for ep in eps]), file=sys.stderr)
    msgs = [{"role": "user", "content": "hello"}]
    c = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="sk-test", max_retries=0)
    c.chat.completions.create(model="gpt-4o", max_tokens=5, messages=msgs)
    list(c.chat.completions.create(model="gpt-4o", max_tokens=5, messages=msgs, stream=True))
    a = anthropic.Anthropic(base_url=sys.argv[1], api_key="sk-test", max_retries=0)
    a.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=msgs)
    list(a.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=msgs,
                           stream=True))
""")
_RUN = ("import sys; from opentelemetry.instrumentation.auto_instrumentation import run; "
        "sys.argv[0] = 'opentelemetry-instrument'; run()")


def _front(dists: tuple[str, ...], root: Path) -> list[str]:
    """Directories holding a copy of the metadata of `dists`, to go first on sys.path."""
    paths = []
    for name in dists:
        dist = importlib.metadata.distribution(name)
        info = root / name / f"{name.replace('-', '_')}-{dist.version}.dist-info"
        info.mkdir(parents=True)
        for part in ("METADATA", "entry_points.txt"):
            (info / part).write_text(dist.read_text(part) or "")
        paths.append(str(root / name))
    return paths


def _console_spans(text: str) -> list[dict[str, Any]]:
    decoder, spans = json.JSONDecoder(), []
    i = text.find("{")
    while i != -1:
        span, end = decoder.raw_decode(text, i)
        spans.append(span)
        i = text.find("{", end)
    return spans


@pytest.mark.parametrize("order", ["wattmeter-first", "wattmeter-last"])
def test_openllmetry_and_wattmeter_by_opentelemetry_instrument(
        simulator: Any, tmp_path: Path, order: str) -> None:
    """Needs wattmeter installed with this pyproject's entry point (pip install -e .)."""
    names = [ep.name for ep in importlib.metadata.entry_points(group=GROUP)]
    if "wattmeter" not in names:
        pytest.skip("the installed wattmeter metadata has no opentelemetry_instrumentor "
                    "entry point; reinstall it (pip install -e .)")
    app = tmp_path / "app.py"
    app.write_text(_APP)
    first = ("wattmeter",) if order == "wattmeter-first" else THEIRS
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WATTMETER_", "OTEL_", "TRACELOOP_"))}
    src = str(Path(wattmeter.__file__).resolve().parents[1])  # the wattmeter under test
    env.update(WATTMETER_STRICT="1", TRACELOOP_TRACE_CONTENT="false",
               PYTHONPATH=os.pathsep.join([*_front(first, tmp_path), src,
                                           env.get("PYTHONPATH", "")]),
               OTEL_TRACES_EXPORTER="console", OTEL_METRICS_EXPORTER="none",
               OTEL_LOGS_EXPORTER="none",
               OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="openai_v2,httpx,requests,urllib,"
                                                    "urllib3,logfire")
    out = subprocess.run([sys.executable, "-c", _RUN, sys.executable, str(app), simulator.url],
                         capture_output=True, text=True, timeout=180, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    loaded = next(line for line in out.stderr.splitlines() if line.startswith("ORDER"))
    loaded_names = json.loads(loaded[6:])
    ours, theirs = loaded_names.index("wattmeter"), loaded_names.index("openai")
    assert (ours < theirs) == (order == "wattmeter-first"), loaded
    spans = _console_spans(out.stdout)
    metered = [s for s in spans if "wattmeter.energy_wh" in s.get("attributes", {})]
    assert len(metered) == 4, out.stdout[-4000:]  # openai and anthropic, plain and streamed
    for span in metered:
        # their span (anthropic 2.x: the SDK's own span inside it), never one of ours
        assert span["name"] in ("openai.chat", "anthropic.chat",
                                "anthropic.messages.create"), span["name"]
        a = span["attributes"]
        assert a["wattmeter.energy_wh"] > 0 and a["wattmeter.co2e_g"] > 0
        assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
    assert not [s for s in spans if s["name"] in ("chat gpt-4o", "chat claude-haiku-4-5",
                                                  "wattmeter.footprint")]
