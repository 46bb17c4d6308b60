"""Issue 12, defect 4: label values and team names are valid UTF-8 and bounded.

One lone surrogate in a team name (from a request header, or undecodable bytes in
``WATTMETER_DEFAULT_TEAM``) used to make ``/metrics`` answer 500 for the whole
application; a 1 MB team name went into every series as it was.
"""

from __future__ import annotations

import logging
import urllib.request

import pytest

import wattmeter
from wattmeter import Usage, _config
from wattmeter._meter import record
from wattmeter.export.prometheus import metrics_server
from wattmeter.testing import capture


def _scrape() -> tuple[int, str]:
    server = metrics_server()
    assert server is not None
    with urllib.request.urlopen(server.url, timeout=5) as resp:
        return resp.status, resp.read().decode("utf-8")


@pytest.fixture
def served() -> object:
    wattmeter.configure(metrics_port=0, metric_labels=["feature"])
    yield metrics_server()
    wattmeter.configure(metrics_port=None, metric_labels=[])


def test_lone_surrogate_in_team_and_label_keeps_metrics_up(served: object) -> None:
    with capture() as fps, wattmeter.attribute(team="se\udcffarch", feature="a\ud800"):
        record(Usage("openai", "gpt-4o", input_tokens=3, output_tokens=2))
    status, body = _scrape()
    assert status == 200
    assert 'team="se\ufffdarch"' in body and 'feature="a\ufffd"' in body
    assert fps[0].team == "se\ufffdarch"
    fps[0].team.encode("utf-8")  # a ledger or an exporter can write it


def test_lone_surrogate_in_model_name_keeps_metrics_up(served: object) -> None:
    record(Usage("openai", "gpt-\udce9", input_tokens=3, output_tokens=2))
    status, body = _scrape()
    assert status == 200 and 'model="gpt-\ufffd"' in body


def test_long_team_name_is_cut(served: object) -> None:
    with capture() as fps, wattmeter.attribute(team="t" * 1_000_000):
        record(Usage("openai", "gpt-4o", input_tokens=3, output_tokens=2))
    assert len(fps[0].team) <= 200
    status, body = _scrape()
    assert status == 200 and "t" * 1000 not in body


def test_undecodable_default_team_from_env(monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("WATTMETER_DEFAULT_TEAM", "caf\udce9")  # the bytes b"caf\xe9"
    with pytest.raises(ValueError, match=r"default_team.*WATTMETER_DEFAULT_TEAM"):
        wattmeter.configure()
    _config.reset()
    with caplog.at_level(logging.ERROR, logger="wattmeter"), capture() as fps:
        record(Usage("openai", "gpt-4o", input_tokens=3, output_tokens=2))
    assert fps[0].team == "default"  # the call is metered, with the default team
    assert sum("WATTMETER_DEFAULT_TEAM" in r.getMessage() for r in caplog.records) == 1
    from prometheus_client import REGISTRY, generate_latest

    assert b'team="default"' in generate_latest(REGISTRY)  # what /metrics serves
