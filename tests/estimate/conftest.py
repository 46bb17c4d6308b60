"""Fixtures for the estimate tests: a clean slate for live grid intensity."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wattmeter.estimate import _live


@pytest.fixture
def clean_live() -> Iterator[None]:
    """No live-intensity warnings remembered before or after the test, and no fetch left
    running after it (used by the live tests through ``pytestmark``)."""
    _live._warned.clear()
    yield
    _live.wait(5)
    _live._warned.clear()
