"""Forking a busy metered process (issue 12, defect 6): no child hangs at its first call
or at ``sys.exit()``, and every call of parent and children is in the ledger once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKLOAD = Path(__file__).with_name("fork_workload.py")
FORKS = 30


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forking_with_busy_threads_never_hangs_a_child(tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("WATTMETER_STRICT", None)  # a child's internal error must not kill it
    out = subprocess.run([sys.executable, str(WORKLOAD), str(FORKS),
                          str(tmp_path / "ledger.sqlite3")], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=FORKS * 11 + 60)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["hung_at_call"] == 0 and result["hung_at_exit"] == 0, result
    assert result["ok"] == FORKS
    # each child's one call was written at its exit; no parent row was written twice
    assert result["ledger_calls"] == result["parent_calls"] + FORKS, result
