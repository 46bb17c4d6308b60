"""Helpers for users' own tests: capture the footprints of metered calls."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from .._footprint import Footprint
from .._meter import add_sink, flush, remove_sink

__all__ = ["capture"]


class _Captured(list):
    """A list of footprints that processes queued calls before it is read, so a call's
    footprint is there as soon as the call has returned (they are estimated in the
    background otherwise)."""

    def __len__(self) -> int:
        flush()
        return super().__len__()

    def __iter__(self) -> Iterator[Footprint]:
        flush()
        return super().__iter__()

    def __getitem__(self, index: Any) -> Any:
        flush()
        return super().__getitem__(index)

    def __contains__(self, item: object) -> bool:
        flush()
        return super().__contains__(item)

    def __bool__(self) -> bool:
        flush()
        return super().__len__() > 0

    def __eq__(self, other: object) -> bool:
        flush()
        return super().__eq__(other)

    __hash__ = None

    def __repr__(self) -> str:
        flush()
        return super().__repr__()

    def copy(self) -> list[Footprint]:
        flush()
        return list(super().__iter__())

    def count(self, value: Any) -> int:
        flush()
        return super().count(value)

    def index(self, value: Any, *args: Any) -> int:
        flush()
        return super().index(value, *args)


@contextlib.contextmanager
def capture() -> Iterator[list[Footprint]]:
    """Yield a list that receives the `Footprint` of every call metered inside the block.

    Calls finished on other threads while the block is open are captured too; a stream
    read after the block ends is not. Reading the list first processes the calls queued
    so far, so it is complete whenever it is read.
    """
    footprints: list[Footprint] = _Captured()
    lock = threading.Lock()

    def sink(fp: Footprint, call: Any) -> None:
        with lock:
            footprints.append(fp)

    flush()  # calls finished before the block belong to no capture
    add_sink(sink)
    try:
        yield footprints
    finally:
        try:
            flush()
        finally:
            remove_sink(sink)
