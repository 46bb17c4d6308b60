"""OpenMetrics output: units, trace-id exemplars, life-cycle counters, promtool's lint."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from test_prometheus_multiprocess import _WORKER, _env

import wattmeter
from wattmeter import Usage, _config
from wattmeter._meter import record, start_call
from wattmeter.export import prometheus as prom
from wattmeter.export import semconv as sc
from wattmeter.testing import capture

_LABELS = {"team": "search", "provider": "openai", "model": "gpt-4o", "operation": "chat"}


@pytest.fixture
def reg() -> Iterator[CollectorRegistry]:
    registry = CollectorRegistry()
    ex = prom.exporter(_config.current(), registry=registry)
    wattmeter._meter.add_sink(ex.record)
    yield registry
    wattmeter._meter.remove_sink(ex.record)


def _metered(usage: Usage) -> None:
    """One call as a provider wrapper meters it: span hooks at its start and end."""
    with wattmeter.attribute(team="search"):
        start_call(usage.provider, usage.model, usage.operation).finish(usage)


@pytest.mark.parametrize("mode", ["create", "auto"])
def test_histogram_bucket_carries_the_trace_id_of_the_call(
        spans: InMemorySpanExporter, reg: CollectorRegistry, mode: str) -> None:
    wattmeter.configure(spans=mode)
    _metered(Usage("openai", "gpt-4o", input_tokens=1200, output_tokens=300))
    (span,) = spans.get_finished_spans()
    assert span.context is not None
    trace_id = f"{span.context.trace_id:032x}"
    text = openmetrics(reg).decode()
    lines = [x for x in text.splitlines() if x.startswith(sc.PROM_CALL_ENERGY + "_bucket")
             and f'trace_id="{trace_id}"' in x]
    assert len(lines) == 1, text  # the one bucket the call landed in
    families = {f.name: f for f in text_string_to_metric_families(text)}
    exemplars = [s.exemplar for s in families[sc.PROM_CALL_ENERGY].samples if s.exemplar]
    assert [e.labels["trace_id"] for e in exemplars] == [trace_id]
    assert exemplars[0].labels["span_id"] == f"{span.context.span_id:016x}"
    joules = reg.get_sample_value(sc.PROM_CALL_ENERGY + "_sum", _LABELS)
    assert exemplars[0].value == pytest.approx(joules)
    # the classic text format has no exemplars (and must still parse)
    assert "trace_id" not in generate_latest(reg).decode()


def test_the_latest_call_of_a_bucket_wins_across_outcomes(
        spans: InMemorySpanExporter, reg: CollectorRegistry) -> None:
    wattmeter.configure(spans="create")
    _metered(Usage("openai", "gpt-4o", input_tokens=500, output_tokens=100))
    _metered(Usage("openai", "gpt-4o", input_tokens=500, output_tokens=100, outcome="error"))
    first, last = spans.get_finished_spans()
    assert first.context is not None and last.context is not None
    text = openmetrics(reg).decode()
    assert f'trace_id="{last.context.trace_id:032x}"' in text  # one series, no outcome label
    assert f'trace_id="{first.context.trace_id:032x}"' not in text


def test_no_exemplar_without_a_sampled_span(reg: CollectorRegistry) -> None:
    wattmeter.configure(spans="off")
    _metered(Usage("openai", "gpt-4o", input_tokens=10))
    with wattmeter.attribute(team="search"):
        record(Usage("openai", "gpt-4o", input_tokens=10))
    assert "trace_id" not in openmetrics(reg).decode()
    assert reg.get_sample_value(sc.PROM_CALL_ENERGY + "_count", _LABELS) == 2


def test_openmetrics_carries_units_and_parses_strictly(reg: CollectorRegistry) -> None:
    record(Usage("openai", "gpt-4o", input_tokens=10))
    prom.set_budget_status("search", "monthly", "grams", 10.0, 1.0, 2.0, registry=reg)
    families = {f.name: f for f in text_string_to_metric_families(openmetrics(reg).decode())}
    units = {name: f.unit for name, f in families.items() if f.unit}
    assert units == {
        "wattmeter_energy_joules": "joules", "wattmeter_co2e_grams": "grams",
        "wattmeter_co2e_embodied_grams": "grams", "wattmeter_water_liters": "liters",
        "wattmeter_co2e_market_grams": "grams",
        "wattmeter_adpe_sb_eq_grams": "grams", "wattmeter_call_energy_joules": "joules",
        **{f"{g}_{u}": u for g in sc.BUDGET_GAUGES for u in sc.BUDGET_UNITS},
    }
    assert all(f.documentation for f in families.values())


def test_life_cycle_counters_are_the_sums_of_the_footprints(reg: CollectorRegistry) -> None:
    """Present and equal to the footprints' values (zero until the life-cycle model fills them)."""
    seen: list[float] = []
    with capture() as fps, wattmeter.attribute(team="search"):
        for n in (100, 2000, 30):
            record(Usage("openai", "gpt-4o", input_tokens=n, output_tokens=n // 2))
            now = [reg.get_sample_value(name, _LABELS) for name in (
                sc.PROM_CO2E_EMBODIED, sc.PROM_WATER, sc.PROM_ADPE)]
            assert None not in now
            seen.extend(v for v in now if v is not None)
    embodied, water, adpe = (reg.get_sample_value(n, _LABELS) for n in (
        sc.PROM_CO2E_EMBODIED, sc.PROM_WATER, sc.PROM_ADPE))
    assert embodied == pytest.approx(sum(f.co2e_embodied_g for f in fps))
    assert water == pytest.approx(sum(f.water_ml for f in fps) / 1e3)  # liters
    assert adpe == pytest.approx(sum(f.adpe_kgsbeq for f in fps) * 1e3)  # grams Sb eq
    by_metric = [seen[i::3] for i in range(3)]
    assert all(a <= b for series in by_metric for a, b in itertools.pairwise(series))


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    return path


def _lint(text: str) -> None:
    out = subprocess.run([_promtool(), "check", "metrics"], input=text, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr


def test_promtool_lints_the_single_process_output_clean(reg: CollectorRegistry) -> None:
    # promtool parses the classic text format only (prometheus/prometheus#8932); the
    # OpenMetrics output is checked by prometheus_client's strict parser above.
    record(Usage("openai", "gpt-4o", input_tokens=10, cached_input_tokens=4))
    prom.set_budget_status("search", "monthly", "joules", 10.0, 1.0, 2.0, registry=reg)
    _lint(generate_latest(reg).decode())


def test_promtool_lints_the_multiprocess_output_clean(tmp_path: Path) -> None:
    mp_dir = tmp_path / "mp"
    mp_dir.mkdir()
    env = _env(mp_dir)
    env["PYTHONPATH"] = str(Path(wattmeter.__file__).resolve().parents[1])
    subprocess.run([sys.executable, "-c", _WORKER, "2", "1"], env=env, check=True,
                   capture_output=True, timeout=60)
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(mp_dir))
    _lint(generate_latest(registry).decode())
    families = list(text_string_to_metric_families(openmetrics(registry).decode()))
    assert {f.name for f in families} >= {"wattmeter_energy_joules", "wattmeter_water_liters"}
