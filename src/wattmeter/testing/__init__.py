"""Helpers for users' own tests: capture the footprints of metered calls."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from .._footprint import Footprint
from .._meter import add_sink, remove_sink

__all__ = ["capture"]


@contextlib.contextmanager
def capture() -> Iterator[list[Footprint]]:
    """Yield a list that receives the `Footprint` of every call metered inside the block.

    Calls finished on other threads while the block is open are captured too; a stream
    read after the block ends is not.
    """
    footprints: list[Footprint] = []
    lock = threading.Lock()

    def sink(fp: Footprint, call: Any) -> None:
        with lock:
            footprints.append(fp)

    add_sink(sink)
    try:
        yield footprints
    finally:
        remove_sink(sink)
