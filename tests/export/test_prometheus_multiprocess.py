"""Multiprocess mode: several real worker processes write, one collector reads the sum."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from wattmeter.export import semconv as sc

_WORKER = textwrap.dedent("""
    import json, sys
    import wattmeter
    from wattmeter import Usage
    from wattmeter._meter import record
    from wattmeter.testing import capture
    from wattmeter.export.prometheus import set_budget_status
    n, used = int(sys.argv[1]), float(sys.argv[2])
    with capture() as fps, wattmeter.attribute(team="search"):
        for _ in range(n):
            record(Usage("openai", "gpt-4o", input_tokens=100, output_tokens=10))
    set_budget_status("search", "monthly", "joules", 1000.0, used, used * 2)
    print(json.dumps(sum(fp.energy_wh for fp in fps) * 3600))
""")


def _env(mp_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTMETER_")}
    env.update(PROMETHEUS_MULTIPROC_DIR=str(mp_dir), WATTMETER_STRICT="1")
    return env


def test_workers_sum_in_one_collector(tmp_path: Path) -> None:
    mp_dir = tmp_path / "mp"
    mp_dir.mkdir()
    env = _env(mp_dir)
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(n), str(used)], env=env,
                              stdout=subprocess.PIPE, text=True)
             for n, used in ((3, 100.0), (5, 200.0), (2, 300.0))]
    joules = 0.0
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == 0
        joules += float(out)
    reg = CollectorRegistry()
    MultiProcessCollector(reg, path=str(mp_dir))
    labels = {"team": "search", "provider": "openai", "model": "gpt-4o", "operation": "chat"}
    assert reg.get_sample_value(sc.PROM_REQUESTS, {**labels, "outcome": "ok"}) == 10
    assert abs(reg.get_sample_value(sc.PROM_ENERGY, labels) - joules) < 1e-6 * joules
    assert reg.get_sample_value(sc.PROM_TOKENS, {**labels, "type": "uncached_input"}) == 1000
    assert reg.get_sample_value(sc.PROM_CALL_ENERGY + "_count", labels) == 10
    budget = {"team": "search", "budget": "monthly"}
    # a gauge every worker sets: the most recent value, never the sum of workers
    assert reg.get_sample_value(sc.PROM_BUDGET_USED + "_joules", budget) in (100.0, 200.0, 300.0)
    assert reg.get_sample_value(sc.PROM_BUILD_INFO, {"version": _version()}) == 1


def test_embedded_server_serves_the_sum_of_workers(tmp_path: Path) -> None:
    mp_dir = tmp_path / "mp"
    mp_dir.mkdir()
    env = _env(mp_dir)
    for n in (2, 4):
        subprocess.run([sys.executable, "-c", _WORKER, str(n), "1"], env=env, check=True,
                       capture_output=True, timeout=60)
    server = textwrap.dedent("""
        import sys, urllib.request
        import wattmeter
        from wattmeter.export.prometheus import metrics_server, exporter
        wattmeter.configure(metrics_port=0)
        exporter()
        print(urllib.request.urlopen(metrics_server().url, timeout=5).read().decode())
    """)
    out = subprocess.run([sys.executable, "-c", server], env=env, check=True,
                         capture_output=True, text=True, timeout=60).stdout
    line = next(x for x in out.splitlines() if x.startswith(sc.PROM_REQUESTS + "{"))
    assert line.endswith(" 6.0")


def _version() -> str:
    import wattmeter

    return wattmeter.__version__
