"""Issue 23, item 5: caller-chosen label values can't grow the ledger without bound.

The LiteLLM proxy's ``end_user`` is set by the client and became one ledger row per
value: 50,000 users, 50,000 rows (24 MB). Now each label keeps its day's top values by
energy (``ledger_max_label_values``) and pools the rest as ``__other__``; no energy is
lost, and a value a budget narrows on is always kept.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from wattmeter import Budget

sys.path.insert(0, str(Path(__file__).parent.parent / "budget"))
from budget_helpers import Clock, fp, manager

OTHER = "__other__"  # the ledger's pooled value (`budget._label_bounds.OTHER`)
NOON = 1_780_000_000.0 // 86_400 * 86_400 + 43_200  # mid-day UTC: the test stays in one day


def _label_values(path: Path, label: str) -> dict[str, float]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT json_extract(labels, ?), SUM(energy_wh) FROM usage "
                            "GROUP BY 1", (f"$.{label}",)).fetchall()
    return {v: e for v, e in rows}


def test_fifty_thousand_end_users_make_a_bounded_ledger(tmp_path: Path) -> None:
    mgr = manager(tmp_path, [], Clock(NOON))  # the default bound: 100 values per label
    for i in range(50_000):
        mgr.record(fp(wh=0.001, labels={"litellm_end_user": f"user-{i}"}))
    mgr.ledger.flush()
    values = _label_values(tmp_path / "ledger.sqlite3", "litellm_end_user")
    assert len(values) <= 101 and OTHER in values
    assert sum(values.values()) == pytest.approx(50.0)  # every call's energy is kept
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM usage").fetchone()[0] <= 101


def test_a_big_spender_arriving_after_a_flood_keeps_its_name(tmp_path: Path) -> None:
    mgr = manager(tmp_path, [], Clock(NOON), ledger_max_label_values=10)
    for i in range(1_000):
        mgr.record(fp(wh=0.01, labels={"litellm_end_user": f"bot-{i}"}))
    for _ in range(3):
        mgr.record(fp(wh=5.0, labels={"litellm_end_user": "whale"}))
    mgr.ledger.flush()
    values = _label_values(tmp_path / "ledger.sqlite3", "litellm_end_user")
    assert values["whale"] == pytest.approx(15.0)
    assert len(values) <= 12  # 10 kept, the one it replaced from then on, and __other__


def test_a_value_a_budget_narrows_on_is_never_pooled(tmp_path: Path) -> None:
    vip = Budget(team="search", limit="1 MWh", period="day", labels={"feature": "vip"})
    clock = Clock(NOON)
    mgr = manager(tmp_path, [vip], clock, ledger_max_label_values=2)
    for i in range(20):
        mgr.record(fp(wh=1.0, labels={"feature": f"f-{i}"}))
    mgr.record(fp(wh=0.5, labels={"feature": "vip"}))
    mgr.ledger.flush()
    assert _label_values(tmp_path / "ledger.sqlite3", "feature")["vip"] == 0.5
    assert mgr.ledger.used("search", NOON - 3600, NOON + 3600,
                           labels={"feature": "vip"}) == pytest.approx(0.5)


def test_bounds_start_again_each_day() -> None:
    from wattmeter.budget._label_bounds import OTHER as POOLED
    from wattmeter.budget._label_bounds import LedgerLabelBounds

    assert POOLED == OTHER
    bounds = LedgerLabelBounds(1)
    day = NOON
    assert bounds.bound({"u": "a"}, 1.0, day) == {"u": "a"}
    assert bounds.bound({"u": "b"}, 0.5, day) == {"u": OTHER}
    assert bounds.bound({"u": "b"}, 0.5, day + 86_400) == {"u": "b"}
    labels: Any = {"u": "b"}
    assert bounds.bound(labels, 0.1, day + 86_400) is labels  # kept: no copy


def test_the_bound_is_validated() -> None:
    import wattmeter

    with pytest.raises(ValueError, match="ledger_max_label_values"):
        wattmeter.configure(ledger_max_label_values=0)


def test_a_budget_value_with_little_energy_does_not_freeze_the_others() -> None:
    """An exempt value that was the day's smallest blocked every replacement."""
    from wattmeter.budget._label_bounds import OTHER, LedgerLabelBounds

    b = LedgerLabelBounds(2, exempt=[("user", "vip")])
    b.bound({"user": "vip"}, 0.1, 0.0)
    b.bound({"user": "small"}, 1.0, 0.0)
    assert b.bound({"user": "big"}, 5.0, 0.0) == {"user": "big"}  # replaces "small"
    assert b.bound({"user": "small"}, 0.5, 0.0) == {"user": OTHER}
    assert b.bound({"user": "vip"}, 0.0, 0.0) == {"user": "vip"}
