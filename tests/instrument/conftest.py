"""Fixtures for the instrumentation tests: the `Usage` each finished call was built from."""

from __future__ import annotations

from typing import Any

import pytest

from wattmeter import _meter
from wattmeter._usage import Usage


@pytest.fixture
def usages(monkeypatch: pytest.MonkeyPatch) -> list[Usage]:
    """Every `Usage` a top-level call finished with (images, characters, audio seconds...).

    Footprints carry tokens but not every usage field; this spies on the meter core's
    footprint step (wattmeter's own code, not a provider SDK) to see them.
    """
    seen: list[Usage] = []
    original = _meter._footprint

    def spy(usage: Usage, call: Any) -> Any:
        seen.append(usage)
        return original(usage, call)

    monkeypatch.setattr(_meter, "_footprint", spy)
    return seen
