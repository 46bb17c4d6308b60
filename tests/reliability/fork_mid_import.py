"""Fork while another thread is inside the estimate layer's first (lazy) import.

Run as a script: a thread makes the process's first estimate while importing
``wattmeter.estimate._coefficients`` is slowed to a second; the main thread forks during
that second and the child makes its own first estimate. Prints ``ok`` when the child
finished, ``hung`` when it was still stuck after the timeout (then it is killed).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import signal
import sys
import threading
import time
from typing import Any

import wattmeter

#: The module whose import is slowed (argv[1]: any module the first call imports lazily).
SLOW = sys.argv[1] if len(sys.argv) > 1 else "wattmeter.estimate._coefficients"
started = threading.Event()


class SlowLoad(importlib.abc.MetaPathFinder):
    """Finds `SLOW` as usual but takes a second to run it (holding its import lock)."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != SLOW:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module

        def slowly(module: Any) -> None:
            started.set()
            time.sleep(1.0)
            run(module)

        spec.loader.exec_module = slowly
        return spec


def first_estimate() -> None:
    wattmeter.estimate("gpt-4o", input_tokens=10, output_tokens=5)


def main() -> None:
    assert SLOW not in sys.modules, f"{SLOW} was imported before the first call"
    sys.meta_path.insert(0, SlowLoad())
    threading.Thread(target=first_estimate, daemon=True).start()
    started.wait(10)
    pid = os.fork()
    if pid == 0:
        first_estimate()
        os._exit(0)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            print("ok" if os.waitstatus_to_exitcode(status) == 0 else "failed")
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    print("hung")


if __name__ == "__main__":
    main()
