"""Issue 23, item 6: the smaller defects, each reproduced as the issue measured it.

"²" passed ``str.isdigit()`` but not ``int()`` (an internal error instead of a warning);
one call reporting 1e8 + 1e8 tokens was recorded as ~1e9 Wh; the handle of a scoped
``instrument()`` and the OTel instrumentor removed patches a plain ``instrument()`` made;
each new TracerProvider left a tracking entry behind; a child forked during another
thread's first metered call hung in the estimate layer's lazy import.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import wattmeter
from wattmeter import Usage
from wattmeter._meter import record
from wattmeter.instrument import instrumented
from wattmeter.testing import capture

FORK_SCRIPT = Path(__file__).with_name("fork_mid_import.py")


def test_superscript_digits_are_not_numbers(openai_client: Any) -> None:
    from wattmeter.instrument import _version_tuple
    from wattmeter.instrument._bedrock_bodies import count
    from wattmeter.instrument._core import parse_size

    assert parse_size("1024x²") == (None, None) and parse_size("²x1024") == (None, None)
    assert count("²") is None and count("12") == 12
    assert _version_tuple("1.²") == (1,) and _version_tuple("2.3²") == (2, 3)
    with capture() as fps:  # end to end: WATTMETER_STRICT=1 re-raises an internal error
        openai_client.images.generate(model="dall-e-3", prompt="a cat", size="1024x²")
    (fp,) = fps
    assert fp.outcome == "ok" and fp.energy_wh > 0


@pytest.fixture
def openai_client(simulator: Any) -> Any:
    openai = pytest.importorskip("openai")
    wattmeter.instrument("openai")
    return openai.OpenAI(base_url=simulator.url + "/v1", api_key="sk-test", max_retries=0)


def test_one_absurd_report_is_capped_at_a_node_hour() -> None:
    with capture() as fps:
        record(Usage("openai", "gpt-4o", input_tokens=10**8, output_tokens=10**8))
        record(Usage("openai", "gpt-4o", input_tokens=128_000, output_tokens=16_000))
    absurd, long_call = fps
    assert absurd.server_wh == pytest.approx(14_300.0)  # 14.3 kW for one hour
    assert absurd.energy_wh < 20_000 and any("ceiling" in w for w in absurd.warnings)
    assert long_call.energy_wh > 100 and not long_call.warnings  # a real long call: as is


def test_a_scoped_instrument_leaves_a_plain_instrument_in_place(simulator: Any) -> None:
    pytest.importorskip("openai")
    wattmeter.instrument("openai")
    with wattmeter.instrument("openai"):
        pass
    assert "openai" in instrumented()
    handle = wattmeter.instrument()
    handle.undo()
    assert "openai" in instrumented()
    wattmeter.uninstrument()  # the public undo still undoes everything
    assert instrumented() == []


def test_the_instrumentor_undoes_only_its_own_patches() -> None:
    pytest.importorskip("openai")
    pytest.importorskip("opentelemetry.instrumentation")
    from wattmeter.instrumentation import WattmeterInstrumentor

    wattmeter.instrument("openai")
    inst = WattmeterInstrumentor()
    inst.instrument(libraries=["openai", "anthropic"])
    inst.uninstrument()
    assert "openai" in instrumented()


def test_new_tracer_providers_leave_no_tracking_entry() -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    from wattmeter.export import _span_adoption
    from wattmeter.export._otel_providers import tracer_of

    gc.collect()
    before = len(_span_adoption._watched)
    for _ in range(50):
        provider = TracerProvider(shutdown_on_exit=False)  # else atexit keeps it alive
        tracer_of(provider, trace)
        del provider
    gc.collect()
    assert len(_span_adoption._watched) <= before + 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("slow", ["wattmeter.estimate._coefficients", "tomllib"])
def test_fork_during_another_threads_first_import_does_not_hang_the_child(slow: str) -> None:
    """The child inherits the module lock of an import the other thread is inside; the
    before-fork hook finishes such imports first (the estimate layer's, and the standard
    library's the configuration reader imports: `tomllib` hung a child 1 time in 10)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("WATTMETER_STRICT", None)
    out = subprocess.run([sys.executable, str(FORK_SCRIPT), slow], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stdout + out.stderr[-2000:]


def test_repeated_plain_instrument_calls_keep_one_claim() -> None:
    pytest.importorskip("openai")
    from wattmeter.instrument import _KEPT, _owners

    for _ in range(1_000):
        wattmeter.instrument("openai")
    gc.collect()
    assert _owners["openai"] == {_KEPT}
    with wattmeter.instrument("openai"):
        assert len(_owners["openai"]) == 2
    assert "openai" in instrumented()


def test_the_fork_hook_imports_every_module_of_the_estimate_layer() -> None:
    """A module left out of the before-fork imports (`_market`, added later) hung a child
    forked during another thread's first estimate, 2 of 6 times without bytecode caches."""
    import importlib
    import pkgutil

    from wattmeter.estimate import _api

    package = importlib.import_module("wattmeter.estimate")
    every = {m.name for m in pkgutil.iter_modules(package.__path__)}
    imported_at_import = {"_api", "_arith", "_calibration", "_charging", "_coef_build",
                          "_records", "_sanitize"}  # `import wattmeter` loads these already
    assert every - imported_at_import == set(_api.LAZY_MODULES)
