"""Fresh locks in a forked child, so a lock some other thread held at fork can't hang it.

Only the forking thread exists in the child; a lock another thread held at that moment
stays held forever there. After a fork, every module-level ``_lock`` of a loaded
``wattmeter`` module, and every lock registered with `renew_in_child`, is replaced by a
new one. (Data those locks guard is then as the other thread left it; wattmeter's locked
sections publish their results last, so a half-done one is simply redone.)
"""

from __future__ import annotations

import os
import sys
import threading
import weakref
from typing import Any

__all__ = ["renew_in_child"]

_RLOCK = type(threading.RLock())
_LOCK = type(threading.Lock())
_owners: weakref.WeakKeyDictionary[Any, tuple[str, ...]] = weakref.WeakKeyDictionary()


def renew_in_child(owner: Any, *attrs: str) -> None:
    """Replace ``owner.<attr>`` (a Lock or RLock) with a new lock in every forked child."""
    _owners[owner] = attrs or ("_lock",)


def _fresh(lock: Any) -> Any:
    if isinstance(lock, _RLOCK):
        return threading.RLock()
    if isinstance(lock, _LOCK):
        return threading.Lock()
    return None


def _after_fork_child() -> None:
    for name, module in list(sys.modules.items()):
        if name == "wattmeter" or name.startswith("wattmeter."):
            new = _fresh(getattr(module, "_lock", None))
            if new is not None:
                setattr(module, "_lock", new)  # noqa: B010 - a module, not typed
    for owner, attrs in list(_owners.items()):
        for attr in attrs:
            new = _fresh(getattr(owner, attr, None))
            if new is not None:
                setattr(owner, attr, new)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_child)
