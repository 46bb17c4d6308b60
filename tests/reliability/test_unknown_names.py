"""Issue 12, defect 8: unknown model names cost microseconds, not a Monte Carlo run each.

Names the registry doesn't know are guessed into a size class; every name of one class
shares that class's coefficients, the per-name cache is bounded without being cleared
wholesale, and an absurdly long name is cut before any regex reads it. Speed itself is
measured by ``benchmarks/estimate_speed.py``; here we count the work.
"""

from __future__ import annotations

from typing import Any

import pytest

from wattmeter import Usage, estimate
from wattmeter.estimate import _api, _coefficients, footprint_for


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every Monte Carlo build made during the test."""
    made: list[Any] = []
    real = _coefficients.build

    def counting(s: Any, *args: Any) -> Any:
        made.append(s)
        return real(s, *args)

    monkeypatch.setattr(_coefficients, "build", counting)
    _api.clear_cache()
    return made


def test_names_of_one_size_class_share_one_build(builds: list[Any]) -> None:
    fps = [footprint_for(Usage("self-hosted", f"acme-{i % 4 + 1}b-chat-v{i}", "chat",
                               input_tokens=100, output_tokens=10), team="t", labels={})
           for i in range(400)]
    assert len(builds) == 4  # one per size class, not one per name
    assert fps[0].model == "acme-1b-chat-v0" and "acme-1b-chat-v0" in fps[0].warnings[0]
    assert fps[4].energy_wh == pytest.approx(fps[0].energy_wh)
    assert fps[1].energy_wh > fps[0].energy_wh  # 2B costs more than 1B


def test_full_cache_evicts_some_entries_not_all(monkeypatch: pytest.MonkeyPatch,
                                                builds: list[Any]) -> None:
    monkeypatch.setattr(_api, "_CACHE_SIZE", 64)
    for i in range(64):
        estimate(f"acme-3b-v{i}", input_tokens=10)
    assert len(_api._cache) == 64
    estimate("acme-3b-v-new", input_tokens=10)
    assert 48 <= len(_api._cache) <= 64  # an eighth made room; the rest stayed
    assert ("acme-3b-v63", None, "chat", None, None, None, None) in _api._cache
    assert len(builds) == 1


def test_ten_megabyte_name_is_cut_in_labels_and_warnings(builds: list[Any]) -> None:
    name = "q" * 10_000_000
    fp = footprint_for(Usage("self-hosted", name, "chat", input_tokens=5, output_tokens=5),
                       team="t", labels={})
    assert len(fp.model) <= 200 and fp.model.startswith("qqq")
    assert all(len(w) < 600 for w in fp.warnings)
    fp2 = estimate(name, input_tokens=5, output_tokens=5)
    assert len(fp2.model) <= 200 and all(len(w) < 600 for w in fp2.warnings)
    assert all(len(k[0]) <= 200 for k in _api._cache if isinstance(k[0], str))


def test_garbage_model_names_are_metered_not_crashed() -> None:
    for bad in (None, "", "   ", 42, "gpt-\udce9"):
        fp = footprint_for(Usage("self-hosted", bad, "chat", input_tokens=5),  # type: ignore[arg-type]
                           team="t", labels={})
        assert fp.energy_wh > 0
        fp.model.encode("utf-8")


def test_response_model_from_the_provider_is_cut_and_cleaned() -> None:
    usage = Usage("openai", "gpt-4o", input_tokens=5, response_model="r\udcff" * 1_000_000)
    fp = footprint_for(usage, team="t", labels={})
    assert fp.response_model is not None and len(fp.response_model) <= 200
    fp.response_model.encode("utf-8")


def test_names_near_a_registered_model_share_its_build(builds: list[Any]) -> None:
    """Issue 23, item 4: dated, fine-tuned and deployment names of one registered model
    resolve to the same facts, so they share one Monte Carlo build (not one per raw name)."""
    fps = [estimate(f"gpt-4o-mini-{i}", input_tokens=100, output_tokens=10) for i in range(200)]
    assert len(builds) == 1
    assert {fp.energy_wh for fp in fps} == {fps[0].energy_wh}
    assert fps[7].model == "gpt-4o-mini-7"  # each keeps its own name
    estimate("gpt-4o-mini", input_tokens=100, output_tokens=10)
    assert len(builds) == 1  # the registered name itself too


def test_shared_build_keeps_facts_apart(builds: list[Any]) -> None:
    """What differs in the facts (the deployment, the model) still builds apart."""
    from wattmeter import Deployment

    estimate("gpt-4o-mini-a", input_tokens=10)
    estimate("gpt-4o-mini-b", input_tokens=10, deployment=Deployment(gpu="H100", gpus=2))
    estimate("gpt-4o-c", input_tokens=10)
    assert len(builds) == 3


def test_churn_past_the_cache_rebuilds_nothing(monkeypatch: pytest.MonkeyPatch,
                                               builds: list[Any]) -> None:
    """Names cycling through more than the per-name cache holds cost a lookup, not a build."""
    monkeypatch.setattr(_api, "_CACHE_SIZE", 64)
    for _ in range(2):
        for i in range(300):
            footprint_for(Usage("openai", f"gpt-4o-mini-ft-{i}", "chat", input_tokens=10,
                                output_tokens=5), team="t", labels={})
    assert len(builds) == 1
